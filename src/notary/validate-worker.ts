/**
 * Large uploads are parsed in a worker thread, so reads keep flowing while a 10,000-target file
 * is checked (docs/performance.md "Reads during large uploads"). Parsing a 1 MB targets file
 * (the JSON itself, Go's decode check, every target's meta, the canonical re-encoding the
 * signatures are over) costs ~150 ms of CPU; on the event loop every GET would wait for it.
 *
 * The worker does only what depends on the bytes alone. Everything that depends on the stored
 * state (keys, versions, the snapshot) stays in the update's transaction on the main thread.
 * Verdicts cannot differ from inline validation, by construction:
 * - a part the worker could not parse is parsed again inline, which fails with the exact error;
 * - a parsed targets file comes back as its canonical bytes plus a small "skeleton" (the file
 *   with an empty `targets` object) that the main thread parses with the same parseTargets, so
 *   version, expiry, signatures and delegations are the inline parser's own values; the target
 *   entries themselves are parsed again only if some code asks for them.
 * Parts under PREPARE_MIN_BYTES never leave the main thread: handing them over costs more than
 * parsing them, and an ordinary publish must not get slower.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  goDecodesAsSignedMeta,
  parseTargets,
  SignedFile,
  type FileMeta,
  type Targets,
} from '../tuf/metadata.js';
import { isDelegationName } from '../tuf/names.js';
import { rememberVerifiedSignatures, signatureEntry } from '../tuf/verify.js';
import { rememberDigests, sha256, sha512 } from '../crypto/hash.js';
import { PublicKey } from '../crypto/keys.js';
import { fromBase64 } from '../util/bytes.js';
import { lowerThreadPriority } from '../util/thread-priority.js';

/** Parts at least this large are parsed in the worker. */
export const PREPARE_MIN_BYTES = 64 * 1024;

/**
 * The worker's young generation, in MB (V8 sizes it by the machine otherwise: up to 48 MB here).
 * Parsing a large upload allocates fast and keeps little, so a small young generation costs the
 * worker a few more scavenges and saves the server's memory: over the bench's long history (311
 * uploads of 275 KiB, `scripts/bench/history-phase.mjs`) the server's RSS ended at 196–199 MB
 * with 8 MB against 199–228 MB with V8's default, and 10,000-target uploads took as long
 * (docs/performance.md "Memory during large uploads").
 */
export const WORKER_YOUNG_GENERATION_MB = 8;

/** A worker thread idle this long is stopped (ms). */
export const WORKER_IDLE_MS = 30_000;

/** What the worker learnt about one uploaded part. */
export interface PreparedPart {
  /** notary's parse phase (goDecodesAsSignedMeta) passed. */
  readonly decodes: boolean;
  /** A targets-family part that parsed: the file, its target entries parsed only on demand. */
  readonly targets?: SignedFile<Targets>;
}

/** A key as metadata lists it: enough for the worker to rebuild the PublicKey. */
export interface CandidateKey {
  readonly keytype: string;
  readonly public: string;
}

/**
 * The keys a role's uploaded file is expected to be signed with, read before the update's
 * transaction (undefined: none known). Only a hint: the transaction finds the role's keys again,
 * and a signature verified with a key it does not list counts for nothing (src/tuf/verify.ts).
 */
export type ExpectedSigners = (role: string) => Promise<readonly CandidateKey[] | undefined>;

/** Prepares the parts of one upload; `undefined` where the main thread does the work itself. */
export type PartPreparer = (
  parts: readonly { readonly role: string; readonly data: Buffer }[],
  expectedSigners?: ExpectedSigners
) => Promise<(PreparedPart | undefined)[]>;

/** Where large uploads are parsed off the event loop: told an upload's size early, then its parts. */
export interface UploadPreparer {
  readonly prepare: PartPreparer;
  /** Told an upload's declared size before its body is read (starts the thread early). */
  readonly warm: (declaredBytes: number) => void;
}

interface Job {
  readonly id: number;
  readonly role: string;
  readonly data: Uint8Array;
  readonly keys?: readonly CandidateKey[];
}

/** The worker's answer; buffers travel as transferred ArrayBuffers. */
interface Answer {
  readonly id: number;
  readonly decodes: boolean;
  readonly parsed?: {
    skeleton: Uint8Array;
    /** Left out when every signature by a candidate key verified: the event loop needs none. */
    canonical?: Uint8Array;
    count: number;
    /** Signatures verified with the candidate keys (signatureEntry). */
    verified: string[];
  };
  /** The part's SHA-256 and SHA-512, which the update needs anyway (its row, the snapshot). */
  readonly digests?: { sha256: Uint8Array; sha512: Uint8Array };
  readonly crashed?: string;
}

const WORKER_TAG = 'countersign-validate-worker';

/** Worker side: the byte-only checks of one part. Never throws: a failure is left to the inline path. */
export function prepareInThread(
  role: string,
  data: Buffer,
  keys: readonly CandidateKey[] = []
): Omit<Answer, 'id'> {
  if (!goDecodesAsSignedMeta(data)) return { decodes: false };
  const digests = {
    sha256: new Uint8Array(sha256(data)),
    sha512: new Uint8Array(sha512(data)),
  };
  if (role !== 'targets' && !isDelegationName(role)) return { decodes: true, digests };
  try {
    const file = parseTargets(data);
    const skeleton = Buffer.from(
      JSON.stringify({
        signed: { ...file.signedJSON, targets: {} },
        signatures: file.signatures,
      })
    );
    const { verified, all } = verifyWithCandidates(file, keys);
    // Own copies, so that each can be transferred (small Buffers share Node's pool).
    return {
      decodes: true,
      digests,
      parsed: {
        skeleton: new Uint8Array(skeleton),
        ...(verified.length > 0 && all ? {} : { canonical: new Uint8Array(file.canonical()) }),
        count: file.signed.targets.size,
        verified,
      },
    };
  } catch {
    return { decodes: true, digests };
  }
}

/**
 * The file's signatures made by candidate keys that verify over its canonical bytes, and whether
 * all of them did (then the event loop has nothing left to verify with those keys).
 */
function verifyWithCandidates(
  file: SignedFile<Targets>,
  candidates: readonly CandidateKey[]
): { verified: string[]; all: boolean } {
  const byId = new Map<string, PublicKey>();
  for (const c of candidates) {
    const key = new PublicKey(c.keytype, c.public);
    byId.set(key.id, key);
  }
  const verified: string[] = [];
  let all = true;
  for (const s of file.signatures) {
    const key = byId.get(s.keyid);
    if (!key) continue;
    const sig = fromBase64(s.sig);
    if (sig && key.verify(s.method, file.canonical(), sig))
      verified.push(signatureEntry(key, s.method, s.sig));
    else all = false;
  }
  return { verified, all };
}

/**
 * Main side: the SignedFile for `raw` from the worker's answer, or undefined (then the inline
 * parse runs and gives the verdict). Version, expiry, signatures and delegations come from the
 * skeleton, parsed by parseTargets itself.
 */
export function fileFromAnswer(
  raw: Buffer,
  parsed: NonNullable<Answer['parsed']>
): SignedFile<Targets> | undefined {
  let skeleton: SignedFile<Targets>;
  try {
    skeleton = parseTargets(bufferOf(parsed.skeleton));
  } catch {
    return undefined;
  }
  const signed: Targets = {
    ...skeleton.signed,
    targets: new LazyTargets(parsed.count, () => parseTargets(raw).signed.targets),
  };
  // Without canonical bytes (every candidate's signature verified in the worker) they are
  // rebuilt from `raw` only if the update checks some other signature after all.
  const file = new SignedFile(
    raw,
    signed,
    () => parseTargets(raw).signedJSON,
    skeleton.signatures,
    parsed.canonical && bufferOf(parsed.canonical)
  );
  rememberVerifiedSignatures(file, parsed.verified);
  return file;
}

/** A targets map whose size is known and whose entries are parsed on first use. */
export class LazyTargets implements ReadonlyMap<string, FileMeta> {
  private map: ReadonlyMap<string, FileMeta> | undefined;
  constructor(
    readonly size: number,
    private readonly load: () => ReadonlyMap<string, FileMeta>
  ) {}
  private get real(): ReadonlyMap<string, FileMeta> {
    return (this.map ??= this.load());
  }
  get(key: string): FileMeta | undefined {
    return this.real.get(key);
  }
  has(key: string): boolean {
    return this.real.has(key);
  }
  forEach(fn: (value: FileMeta, key: string, map: ReadonlyMap<string, FileMeta>) => void): void {
    this.real.forEach((v, k) => fn(v, k, this));
  }
  entries(): MapIterator<[string, FileMeta]> {
    return this.real.entries();
  }
  keys(): MapIterator<string> {
    return this.real.keys();
  }
  values(): MapIterator<FileMeta> {
    return this.real.values();
  }
  [Symbol.iterator](): MapIterator<[string, FileMeta]> {
    return this.real[Symbol.iterator]();
  }
}

/**
 * One worker thread, started on first use, shared by every upload of an app (large uploads are
 * few; a queue in one thread keeps memory bounded) and stopped after WORKER_IDLE_MS without
 * work. It never keeps the process alive; a worker that dies is replaced on the next upload,
 * and the uploads it was handling fall back to inline parsing.
 */
export class ValidationWorker implements UploadPreparer {
  /** The running thread and the jobs it owes answers for. */
  private current: { worker: Worker; pending: Map<number, (a: Answer) => void> } | undefined;
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * `idleMs`: a thread with nothing to do for this long is stopped, giving its heap back (it
   * holds 1 MB documents while parsing); the next large upload starts another (~0.1–0.3 s).
   */
  constructor(
    private readonly minBytes = PREPARE_MIN_BYTES,
    private readonly idleMs = WORKER_IDLE_MS
  ) {}

  /** Whether a worker thread is running now. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /** The running thread's V8 heap limits (Node's Worker#resourceLimits), if one runs. */
  get heapLimits(): Worker['resourceLimits'] | undefined {
    return this.current?.worker.resourceLimits;
  }

  readonly prepare: PartPreparer = (parts, expectedSigners) =>
    Promise.all(
      parts.map(async (p) => {
        if (p.data.length < this.minBytes) return undefined;
        const keys = await expectedSigners?.(p.role).catch(() => undefined);
        const answer = await this.ask(p.role, p.data, keys).catch(() => undefined);
        if (!answer || answer.crashed) return undefined;
        // The part's bytes are not written again: the request's body has been read whole.
        if (answer.digests) rememberDigests(p.data, answer.digests);
        if (!answer.parsed) return { decodes: answer.decodes };
        const targets = fileFromAnswer(p.data, answer.parsed);
        return targets ? { decodes: true, targets } : { decodes: true };
      })
    );

  /**
   * Called when a request declares a body of `declaredBytes`: a large one starts the thread now,
   * so its start-up (~0.1–0.3 s) overlaps the body's transfer instead of following it. An
   * upload that never asks is harmless: the idle timer stops the thread again.
   */
  readonly warm = (declaredBytes: number): void => {
    if (declaredBytes < this.minBytes || this.current) return;
    this.thread();
    this.stopWhenIdle();
  };

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const c = this.current;
    this.current = undefined;
    if (c) await c.worker.terminate();
  }

  private ask(role: string, data: Buffer, keys?: readonly CandidateKey[]): Promise<Answer> {
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    return new Promise<Answer>((resolve) => {
      const thread = this.thread();
      thread.pending.set(id, resolve);
      // Shared memory (src/http/multipart.ts makes large parts so) is handed over as it is:
      // both threads read the same bytes, and nobody writes them. Otherwise an exact-size copy,
      // transferred: the part may be a view into a larger buffer, and a cloned view would copy
      // all of it.
      if (data.buffer instanceof SharedArrayBuffer) {
        thread.worker.postMessage({ id, role, data, keys } satisfies Job);
        return;
      }
      const copy = new Uint8Array(data);
      thread.worker.postMessage({ id, role, data: copy, keys } satisfies Job, [copy.buffer]);
    });
  }

  private thread(): NonNullable<ValidationWorker['current']> {
    if (this.current) return this.current;
    const worker = new Worker(new URL(import.meta.url), {
      workerData: WORKER_TAG,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    worker.unref();
    const thread = { worker, pending: new Map<number, (a: Answer) => void>() };
    worker.on('message', (a: Answer) => {
      thread.pending.get(a.id)?.(a);
      thread.pending.delete(a.id);
      if (thread.pending.size === 0 && this.current === thread) this.stopWhenIdle();
    });
    const fail = (why: string) => {
      if (this.current === thread) this.current = undefined;
      for (const [id, resolve] of thread.pending) resolve({ id, decodes: false, crashed: why });
      thread.pending.clear();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exit ${code}`));
    this.current = thread;
    return thread;
  }

  private stopWhenIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.idleTimer.unref();
  }
}

/** A Buffer over the same memory (no copy). */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * How many nice steps the worker runs below the event loop: all of them (nice 19). On a core
 * shared with the event loop (one CPU, or all CPUs busy), Linux's scheduler then gives the event
 * loop about 98.5% of the core while both want it (weights 1024 vs 15); an idle core still runs
 * the worker at full speed. The price: while reads saturate the core, a large upload waits for
 * the time they leave (seconds instead of a fraction of one). Reads still pay for the slices the
 * worker does get: GET p99 2–2.7× idle during back-to-back 10,000-target uploads on one core
 * (3–8× at nice 10). SCHED_IDLE would spare them, but makes an upload wait until the reads stop
 * and needs a spawned `chrt`; that trade is left open (docs/performance.md "Reads during large
 * uploads").
 */
export const WORKER_NICE = 19;

/** The worker thread's loop. */
function serveJobs(): void {
  lowerThreadPriority(WORKER_NICE);
  parentPort?.on('message', (job: Job) => {
    let answer: Answer;
    try {
      answer = { id: job.id, ...prepareInThread(job.role, bufferOf(job.data), job.keys) };
    } catch (err) {
      answer = { id: job.id, decodes: false, crashed: String(err) };
    }
    const p = answer.parsed;
    const transfer = p ? [p.skeleton.buffer, ...(p.canonical ? [p.canonical.buffer] : [])] : [];
    parentPort?.postMessage(answer, transfer as ArrayBuffer[]);
  });
}

if (!isMainThread && workerData === WORKER_TAG) serveJobs();
