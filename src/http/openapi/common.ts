/**
 * What every area of the description shares: the store API's error body, and the time and GUN
 * strings. The `/auth/token` route answers errors in distribution's shape instead (auth-paths.ts).
 */
import type { Schema } from './model.js';

/** RFC 3339 / ISO 8601 time, as the API writes it (`2026-12-07T06:00:00.000Z`). */
export const TIME: Schema = { type: 'string', format: 'date-time' };

/** A GUN (`staging.store.test/acme/web`), slashes included. */
export const GUN: Schema = { type: 'string', minLength: 1, maxLength: 255 };

/** Free text (names, notes, details). */
export const TEXT: Schema = { type: 'string' };

export const COMMON_SCHEMAS: Readonly<Record<string, Schema>> = {
  Error: {
    type: 'object',
    description:
      'Every error of the store API (docs/errors.md). `code` is one of the store codes; the status goes with it.',
    additionalProperties: false,
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            enum: [
              'bad_request',
              'unauthorized',
              'forbidden',
              'not_found',
              'conflict',
              'policy_failed',
              'too_large',
              'rate_limited',
              'unavailable',
              'internal',
            ],
          },
          message: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};
