/**
 * The typed commands the store service takes. The edges (through command-parsing.ts) turns a
 * request's body or query into one of these, with the precise 400 for a wrong shape, so the
 * service decides only what belongs to the store: who may, in which state, with which effect.
 */
import type { SubmissionState } from '../storage/types.js';
import type { ReviewDecision } from './submission.js';

/** Longest review note, waiver or revocation reason. */
export const MAX_NOTE = 4096;

export interface CreateSubmission {
  /** The staging GUN (its syntax and zone are the service's to judge). */
  readonly gun: string;
  readonly tag: string;
}

export interface SubmissionQuery {
  readonly state?: SubmissionState;
  readonly gun?: string;
  readonly limit?: number;
}

export interface ReviewCommand {
  readonly decision: ReviewDecision;
  /** Required (non-empty) for a rejection, '' when an approval gives none. */
  readonly note: string;
}

export interface WaiveCommand {
  readonly check: string;
  readonly reason: string;
}

export interface RevokeCommand {
  readonly tag: string;
  readonly reason: string;
}

export interface AuditQuery {
  readonly gun?: string;
  readonly since?: Date;
  /** Entries with a larger id only (paging). */
  readonly afterId: number;
  readonly limit: number;
}
