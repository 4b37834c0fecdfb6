/**
 * `GET /api/v1/openapi.json`: the description, serialised once. Anyone may read it; it changes
 * only with the server's version, so caches may keep it for an hour (express adds an ETag and
 * answers 304 to a matching If-None-Match).
 */
import type { RequestHandler } from 'express';
import { openApiDocument } from './document.js';

const MAX_AGE_S = 3600;

export function openApiRoute(): RequestHandler {
  const body = Buffer.from(JSON.stringify(openApiDocument()));
  return (_req, res) => {
    res.set('Cache-Control', `public, max-age=${MAX_AGE_S}`).type('application/json').send(body);
  };
}
