/**
 * JSON request bodies of the store API, read as bytes (capped by express before anything is
 * buffered past the limit) and parsed by the one bounded parser (src/canonical/parse.ts), so a
 * deeply nested body is refused before `JSON.parse` builds it. Express's own `express.json()`
 * would call `JSON.parse` on whatever fits the size cap.
 */
import express, { type RequestHandler } from 'express';
import { parseJsonBytes } from '../canonical/parse.js';
import { CountersignError, isCountersignError } from '../errors.js';

export function jsonBody(limit: string): RequestHandler {
  const bytes = express.raw({ type: 'application/json', limit });
  return (req, res, next) =>
    bytes(req, res, (err?: unknown) => {
      if (err) next(err);
      else parse(req, res, next);
    });
}

const parse: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body)) {
    req.body = undefined; // not JSON (Content-Type): the route says what it expects
    next();
    return;
  }
  try {
    req.body = body.length === 0 ? undefined : parseJsonBytes(body);
    next();
  } catch (err) {
    const message = isCountersignError(err, 'JSON_TOO_DEEP')
      ? err.message
      : 'The body is not valid JSON.';
    next(new CountersignError('bad_request', message, { cause: err }));
  }
};
