/**
 * The OpenAPI description lists exactly the routes of the real app: a walk of the express
 * router stack of an app with a store and the built-in token service (every route present)
 * fails on a route the description does not list, and on a described path no route serves.
 * The review UI's pages (/ui) are HTML for browsers, not API, and are left out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument } from '../../src/http/openapi/document.js';
import { ManualClock } from '../../src/util/clock.js';
import { inProcessApp, type InProcessApp } from '../helpers/app.js';
import { expressRoutes, openApiTemplate } from '../helpers/express-routes.js';

const STORE = { countersign: { store: { zones: [{ staging: 'staging.t/', public: 't/' }] } } };

/** The API's routes: the review UI's HTML pages under /ui are not part of it (docs/ui.md). */
const apiRoutes = (web: Parameters<typeof expressRoutes>[0]): string[] =>
  expressRoutes(web).filter((r) => !/^[A-Z]+ \/ui(\/|$)/.test(r));

function describedRoutes(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(openApiDocument().paths))
    for (const method of Object.keys(item)) out.push(`${method.toUpperCase()} ${path}`);
  return out.sort();
}

describe('OpenAPI description against the express routes', () => {
  let full: InProcessApp;
  let extended: InProcessApp;
  before(async () => {
    full = await inProcessApp({ config: STORE, clock: new ManualClock(), logLevel: 'silent' });
    // Another engineer's new route, not yet described.
    extended = await inProcessApp({
      config: STORE,
      clock: new ManualClock(),
      logLevel: 'silent',
      appOptions: {
        storeRoutes: (router) => router.get('/undescribed/:id', (_req, res) => void res.json({})),
      },
    });
  });
  after(async () => {
    await full?.close();
    await extended?.close();
  });

  it('every route of the app is described, and every described operation has a route', () => {
    const routes = apiRoutes(full.app.web);
    const described = describedRoutes();
    assert.ok(routes.length >= 18, routes.join('\n'));
    assert.deepEqual(
      routes.filter((r) => !described.includes(r)),
      [],
      'routes the description does not list'
    );
    assert.deepEqual(
      described.filter((r) => !routes.includes(r)),
      [],
      'described operations no route serves'
    );
  });

  it('the walk sees a route added through the store API and names it', () => {
    const described = describedRoutes();
    const missing = apiRoutes(extended.app.web).filter((r) => !described.includes(r));
    assert.deepEqual(missing, ['GET /api/v1/undescribed/{id}']);
  });

  it('express paths become OpenAPI templates; patterns it cannot express are refused', () => {
    assert.equal(
      openApiTemplate('/api/v1/repositories/*gun/status'),
      '/api/v1/repositories/{gun}/status'
    );
    assert.equal(
      openApiTemplate('/api/v1/submissions/:id/reports/:sha256'),
      '/api/v1/submissions/{id}/reports/{sha256}'
    );
    assert.throws(() => openApiTemplate('/a{/:optional}'), /no OpenAPI template/);
  });
});
