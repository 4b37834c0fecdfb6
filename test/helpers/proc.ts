/**
 * Child processes for interop tests: run-to-completion with a timeout, long-running services
 * that are killed (with their whole process group) on stop, on dispose and at exit, and free
 * ports on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { onProcessExit } from './exit-hooks.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** The complete environment of the child: nothing is inherited unless you spread process.env. */
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Default 60 s. A command that outlives it is killed and the call rejects with its output. */
  timeoutMs?: number;
}

/** Thrown by helpers that expect success; carries everything needed to see why it failed. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult
  ) {
    super(
      `${command} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
    );
    this.name = 'CommandError';
  }
}

/** Rejects (never resolves with code≠0 silently hidden) only for timeouts and spawn errors. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {}
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      // A process group of its own, so a timeout also kills whatever the command started.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const result: RunResult = {
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (timedOut) {
        reject(new CommandError(`${describe(cmd, args)} (killed after ${timeoutMs} ms)`, result));
      } else {
        resolvePromise(result);
      }
    });
    child.stdin.on('error', () => {
      // The child may exit before reading its input; that is its business, not ours.
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** run() that rejects with a CommandError on a non-zero exit. */
export async function runChecked(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {}
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(describe(cmd, args), r);
  return r;
}

export interface ServiceOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** A long-running child whose output is kept for assertions and for failure messages. */
export class Service implements AsyncDisposable {
  private readonly chunks: string[] = [];
  private readonly listeners = new Set<() => void>();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess
  ) {
    const onData = (b: Buffer): void => {
      this.chunks.push(b.toString('utf8'));
      for (const l of this.listeners) l();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolvePromise) => {
      child.on('close', (code, signal) => {
        live.delete(child);
        this.exitInfo = { code, signal };
        for (const l of this.listeners) l();
        resolvePromise(this.exitInfo);
      });
    });
  }

  static start(cmd: string, args: readonly string[], opts: ServiceOptions = {}): Service {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    const svc = new Service(describe(cmd, args), child);
    child.on('error', (e) => {
      svc.chunks.push(`\n[spawn error: ${e.message}]\n`);
    });
    return svc;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** stdout and stderr interleaved, as received. */
  output(): string {
    return this.chunks.join('');
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Resolves with the first match in the output (past or future); rejects on exit or timeout. */
  waitForOutput(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolvePromise, reject) => {
      const check = (): void => {
        const m = this.output().match(re);
        if (m) {
          done();
          resolvePromise(m);
        } else if (this.exitInfo) {
          done();
          reject(this.failure(`exited (${JSON.stringify(this.exitInfo)}) before printing ${re}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`did not print ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Polls until the URL answers with the expected status; rejects if the process exits first. */
  async waitForUrl(
    url: string,
    opts: { caFile?: string; status?: number; timeoutMs?: number } = {}
  ): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        throw this.failure(`exited (${JSON.stringify(this.exitInfo)}) before ${url} answered`);
      }
      try {
        const status = await httpStatus(url, opts.caFile);
        if (status === (opts.status ?? 200)) return;
        last = `status ${status}`;
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(50);
    }
    throw this.failure(`${url} did not answer ${opts.status ?? 200} in time (last: ${last})`);
  }

  /** SIGTERM to the process group, SIGKILL after a grace period. Idempotent. */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.running) return;
    killGroup(this.child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(this.child, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL to the process group, as a crash or the OOM killer would; resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    killGroup(this.child, 'SIGKILL');
    await this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private failure(what: string): Error {
    return new Error(`${this.name} ${what}\n--- output\n${this.output()}`);
  }
}

/** A port on 127.0.0.1 that was free a moment ago (callers retry if they lose the race). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolvePromise(addr.port);
        else reject(new Error('no port from listen(0)'));
      });
    });
  });
}

/** GET a URL and return its status (https verified against caFile when given). */
export function httpStatus(url: string, caFile?: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const u = new URL(url);
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ca: caFile ? readFileSync(caFile) : undefined, timeout: timeoutMs })
        : httpRequest(u, { timeout: timeoutMs });
    req.on('response', (res) => {
      res.resume();
      resolvePromise(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

// Every child still alive when the test process exits (a failed before-hook, an assertion that
// skipped the after-hooks, an uncaught error, a cancelled run) is killed with its group.
const live = new Set<ChildProcess>();
onProcessExit(() => {
  for (const child of live) killGroup(child, 'SIGKILL');
});
