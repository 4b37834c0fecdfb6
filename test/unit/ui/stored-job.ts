/** A running `review` job as storage returns it, for the UI's unit tests, with `o` over the defaults. */
import type { StoredJob } from '../../../src/storage/work-types.js';

export function storedJob(at: number, o: Partial<StoredJob> = {}): StoredJob {
  return {
    id: `job_${'a'.repeat(32)}`,
    kind: 'review',
    owner: 'rev2',
    submission: 'hT2abcdefghijklmnopqrs',
    state: 'running',
    progress: {},
    result: null,
    error: null,
    createdAt: at,
    updatedAt: at,
    heartbeatAt: at,
    finishedAt: null,
    ...o,
  };
}
