/**
 * The queue's data: the submissions this account may read, filtered (state, publisher, GUN,
 * age, "needs me"), oldest first, with counts per state. Who may read what is decided by the
 * store service alone: reviewers and admins get `StoreService.list`; a publisher, whom `list`
 * refuses, gets the rows `StoreService.get` lets it read (its own namespaces), nothing else.
 */
import type { Principal } from '../auth/principal.js';
import { isCountersignError } from '../errors.js';
import type { StorageTx } from '../storage/types.js';
import type { StoreService } from '../store/service.js';
import {
  approvers,
  isSubmissionState,
  SUBMISSION_STATES,
  type SubmissionState,
  type SubmissionView,
} from '../store/submission.js';

/** How many submissions one queue page considers (the newest this many, then sorted). */
export const QUEUE_LIMIT = 1000;

export const AGE_CHOICES: readonly { value: string; label: string; ms: number }[] = [
  { value: '', label: 'any age', ms: 0 },
  { value: '1h', label: 'older than 1 hour', ms: 3_600_000 },
  { value: '1d', label: 'older than 1 day', ms: 86_400_000 },
  { value: '7d', label: 'older than 7 days', ms: 7 * 86_400_000 },
];

export interface QueueFilter {
  readonly state?: SubmissionState;
  readonly publisher?: string;
  readonly gun?: string;
  readonly age: string;
  readonly needsMe: boolean;
}

export interface Queue {
  readonly filter: QueueFilter;
  readonly rows: readonly SubmissionView[];
  /** Per state, over the rows the other filters leave (so the counts explain the list). */
  readonly counts: Readonly<Record<SubmissionState, number>>;
  readonly needsMe: number;
}

/** Query parameters to a filter; anything unknown is ignored, nothing here can fail. */
export function queueFilter(q: Record<string, unknown>): QueueFilter {
  const str = (v: unknown) =>
    typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 255) : undefined;
  const state = str(q.state);
  const age = str(q.age) ?? '';
  const publisher = str(q.publisher);
  const gun = str(q.gun);
  return {
    ...(isSubmissionState(state) ? { state } : {}),
    ...(publisher !== undefined ? { publisher } : {}),
    ...(gun !== undefined ? { gun } : {}),
    age: AGE_CHOICES.some((a) => a.value === age) ? age : '',
    needsMe: q.mine === '1',
  };
}

/** A verified submission this reviewer can still decide: not theirs, not yet reviewed by them. */
export function needsReviewBy(p: Principal, s: SubmissionView): boolean {
  if (p.role === 'publisher' || s.state !== 'verified' || s.submitter === p.name) return false;
  return !s.reviews.some((r) => r.reviewer === p.name);
}

export async function readableSubmissions(
  store: StoreService,
  submissions: StorageTx['submissions'],
  p: Principal
): Promise<SubmissionView[]> {
  if (p.role !== 'publisher') return store.list(p, { limit: QUEUE_LIMIT });
  const rows = await submissions.list({ limit: QUEUE_LIMIT });
  const readable: SubmissionView[] = [];
  for (const row of rows) {
    try {
      readable.push(await store.get(p, row.id));
    } catch (err) {
      if (isCountersignError(err) && err.code === 'forbidden') continue;
      throw err;
    }
  }
  return readable;
}

export function buildQueue(
  all: readonly SubmissionView[],
  p: Principal,
  filter: QueueFilter,
  now: Date
): Queue {
  const ageMs = AGE_CHOICES.find((a) => a.value === filter.age)?.ms ?? 0;
  const gun = filter.gun?.toLowerCase();
  const base = all.filter(
    (s) =>
      (filter.publisher === undefined || s.submitter === filter.publisher) &&
      (gun === undefined ||
        s.gun.toLowerCase().includes(gun) ||
        s.publicGun.toLowerCase().includes(gun)) &&
      now.getTime() - Date.parse(s.createdAt) >= ageMs
  );
  const counts = Object.fromEntries(SUBMISSION_STATES.map((s) => [s, 0])) as Record<
    SubmissionState,
    number
  >;
  for (const s of base) counts[s.state]++;
  const rows = base
    .filter((s) => filter.state === undefined || s.state === filter.state)
    .filter((s) => !filter.needsMe || needsReviewBy(p, s))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return { filter, rows, counts, needsMe: base.filter((s) => needsReviewBy(p, s)).length };
}

/** `1 of 2 approvals`. */
export function quorumText(s: SubmissionView, required: number): string {
  return `${approvers(s).length} of ${required} approval${required === 1 ? '' : 's'}`;
}
