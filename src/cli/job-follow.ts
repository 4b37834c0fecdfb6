/**
 * The CLI side of jobs (docs/store.md "Jobs"): the long store commands (submit, approve, reject,
 * publish) ask for a job with `Prefer: respond-async`, then follow it — progress on stderr
 * (`verify: blobs 37/120, 1.2 GB`), the result on stdout as before. No request stays open while
 * the server streams blobs, so no client timeout has to guess how long that takes; each poll is a
 * short request of its own. A server that answers synchronously (no jobs) is answered as before.
 */
import { StoreApiError, type StoreClient } from './store-client.js';

interface JobAnswer {
  readonly id: string;
  readonly kind: string;
  readonly state: 'running' | 'succeeded' | 'failed';
  readonly progress?: { readonly phase?: string; readonly text?: string };
  readonly result?: unknown;
  readonly error?: { readonly code?: string; readonly message?: string; readonly status?: number };
}

function isJob(v: unknown): v is JobAnswer {
  const o = v as Partial<JobAnswer> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.id === 'string' &&
    /^job_[0-9a-f]{32}$/.test(o.id) &&
    typeof o.kind === 'string'
  );
}

export interface FollowOptions {
  readonly stderr: NodeJS.WritableStream;
  /** Waits between polls: from `firstPollMs`, growing to `maxPollMs`. */
  readonly firstPollMs?: number;
  readonly maxPollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** POSTs asking for a job and returns the job's result (or the synchronous answer). */
export async function postFollowingJob<T>(
  client: StoreClient,
  path: string,
  body: unknown,
  o: FollowOptions
): Promise<T> {
  const first = await client.post<unknown>(path, body, { Prefer: 'respond-async' });
  if (!isJob(first)) return first as T;
  o.stderr.write(`job ${first.id} (${first.kind}) started\n`);
  let job: JobAnswer = first;
  let shown = '';
  let wait = o.firstPollMs ?? 250;
  while (job.state === 'running') {
    await sleep(wait);
    wait = Math.min(wait * 2, o.maxPollMs ?? 2000);
    job = await client.get<JobAnswer>(`/jobs/${job.id}`);
    const line = job.progress?.text
      ? `${job.progress.phase ?? job.kind}: ${job.progress.text}`
      : '';
    if (line !== '' && line !== shown) {
      o.stderr.write(`${line}\n`);
      shown = line;
    }
  }
  if (job.state === 'succeeded') return job.result as T;
  const e = job.error ?? {};
  throw new StoreApiError(e.status ?? 500, e.code ?? 'internal', e.message ?? 'the job failed');
}
