/**
 * Progress of the job running in this async context, so the registry walks deep inside a
 * verification or a publish can report it without every layer in between passing a callback
 * (the store service's methods stay as they are). Outside a job there is no reporter and the
 * walks report to nobody. The context costs nothing while no job runs (TxContext switches off).
 */
import type { BlobProgress } from '../registry/progress.js';
import { TxContext } from '../storage/tx-context.js';

/** `verify` (the integrity check's blobs) or `copy` (promotion). */
export type JobPhase = 'verify' | 'copy';

export type ProgressReporter = (phase: JobPhase, p: BlobProgress) => void;

/**
 * Progress of work counted in steps rather than blobs (healthcheck-run: `platform 1/1, probe 2`),
 * handed to the job's work directly: it is written as the job's `progress` as it is.
 */
export interface StepProgress {
  readonly phase: string;
  /** One line for people: what the work is doing now. */
  readonly text: string;
  readonly [detail: string]: unknown;
}

export type StepReporter = (view: StepProgress) => void;

const context = new TxContext<ProgressReporter>();

export function runWithProgress<T>(reporter: ProgressReporter, fn: () => Promise<T>): Promise<T> {
  return context.run(reporter, fn);
}

/** A listener for `phase` of the current job, or undefined outside a job. */
export function progressListener(phase: JobPhase): ((p: BlobProgress) => void) | undefined {
  const reporter = context.get();
  return reporter ? (p) => reporter(phase, p) : undefined;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** `1.2 GB`: decimal units, one decimal below 10. */
export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  const text = i === 0 || v >= 10 ? String(Math.round(v)) : v.toFixed(1);
  return `${text} ${UNITS[i]}`;
}

/** `blobs 37/120, 1.2 GB`: the bytes done so far. */
export function progressText(p: BlobProgress): string {
  return `blobs ${p.blobsDone}/${p.blobsTotal}, ${formatBytes(p.bytesDone)}`;
}
