/**
 * Request shapes of the store API (docs/interfaces.md "Store API") turned into the service's typed
 * commands (commands.ts): each field's type, presence and length is checked here, with the 400
 * `bad_request` naming the field, before the service sees it. Both edges use it: the JSON API
 * (src/http/store-routes.ts) and the review UI's forms (src/ui/routes.ts).
 */
import { fail } from '../errors.js';
import {
  MAX_NOTE,
  type AuditQuery,
  type CreateSubmission,
  type ReviewCommand,
  type RevokeCommand,
  type SubmissionQuery,
  type WaiveCommand,
} from './commands.js';
import { isSubmissionState } from './submission.js';

type Fields = Readonly<Record<string, unknown>>;

function text(value: unknown, what: string, opts: { required: boolean; max: number }): string {
  if (value === undefined || value === null) {
    if (opts.required) fail('bad_request', `${what} is required`);
    return '';
  }
  if (typeof value !== 'string') fail('bad_request', `${what} must be a string`);
  if (opts.required && value.trim() === '') fail('bad_request', `${what} must not be empty`);
  if (value.length > opts.max) fail('bad_request', `${what} is longer than ${opts.max} characters`);
  return value;
}

/** A query parameter that may be absent or empty (both mean "not given"). */
function optional<T>(value: unknown, parse: (v: unknown) => T): T | undefined {
  return value === undefined || value === '' ? undefined : parse(value);
}

function integer(value: unknown, what: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    fail('bad_request', `${what} must be an integer from ${min} to ${max}`);
  return n;
}

const gunField = (v: unknown): string => text(v, 'gun', { required: true, max: 255 });

export function createSubmission(body: Fields): CreateSubmission {
  return {
    gun: gunField(body.gun),
    tag: text(body.tag, 'tag', { required: true, max: 128 }),
  };
}

export function submissionQuery(query: Fields): SubmissionQuery {
  const state = optional(query.state, (s) => {
    if (!isSubmissionState(s))
      fail('bad_request', `state ${JSON.stringify(s)} is not a submission state`);
    return s;
  });
  const gun = optional(query.gun, gunField);
  // An empty limit is refused (as before): only an absent one means the default.
  const limit = query.limit === undefined ? undefined : integer(query.limit, 'limit', 1, 10_000);
  return {
    ...(state !== undefined ? { state } : {}),
    ...(gun !== undefined ? { gun } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

export function reviewCommand(body: Fields): ReviewCommand {
  const decision = body.decision;
  if (decision !== 'approve' && decision !== 'reject')
    fail('bad_request', 'decision must be "approve" or "reject"');
  return {
    decision,
    note: text(body.note, 'note', { required: decision === 'reject', max: MAX_NOTE }),
  };
}

export function waiveCommand(body: Fields): WaiveCommand {
  return {
    check: text(body.check, 'check', { required: true, max: 64 }),
    reason: text(body.reason, 'reason', { required: true, max: MAX_NOTE }),
  };
}

export function revokeCommand(body: Fields): RevokeCommand {
  return {
    tag: text(body.tag, 'tag', { required: true, max: 128 }),
    reason: text(body.reason, 'reason', { required: true, max: MAX_NOTE }),
  };
}

/** `GET /api/v1/submissions/ID/jobs?limit=N`: at most 100 (the newest jobs read), 20 by default. */
export function jobListQuery(query: Fields): { readonly limit: number } {
  return { limit: optional(query.limit, (v) => integer(v, 'limit', 1, 100)) ?? 20 };
}

export function auditQuery(query: Fields): AuditQuery {
  const gun = optional(query.gun, gunField);
  const since = optional(query.since, (v) => {
    const at = new Date(text(v, 'since', { required: true, max: 64 }));
    if (Number.isNaN(at.getTime())) fail('bad_request', 'since must be an RFC 3339 time');
    return at;
  });
  return {
    ...(gun !== undefined ? { gun } : {}),
    ...(since !== undefined ? { since } : {}),
    afterId: optional(query.after, (v) => integer(v, 'after', 0, Number.MAX_SAFE_INTEGER)) ?? 0,
    limit: optional(query.limit, (v) => integer(v, 'limit', 1, 10_000)) ?? 1000,
  };
}
