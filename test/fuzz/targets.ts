/**
 * The four fuzz targets of test/fuzz/harness.ts. Each returns a report rather than throwing, so
 * `npm run fuzz` can print figures for every target even when one fails.
 */
import fc from 'fast-check';
import { NotaryClient } from '../helpers/notary-cli.js';
import { plainKey, targetsSigned } from '../helpers/tuf-builder.js';
import type { JsonObject } from '../../src/tuf/metadata.js';
import {
  applyMutation,
  envelope,
  FuzzServer,
  makeRepo,
  mutationArb,
  upload,
  type FuzzOptions,
  type FuzzRepo,
  type FuzzReport,
  type FuzzTarget,
} from './harness.js';

interface Counters {
  cases: number;
  accepted: number;
  refused: number;
  notaryChecks: number;
}

async function report<Ts extends [unknown, ...unknown[]]>(
  target: FuzzTarget,
  o: FuzzOptions,
  property: (c: Counters) => fc.IAsyncProperty<Ts>
): Promise<FuzzReport> {
  const started = performance.now();
  const c: Counters = { cases: 0, accepted: 0, refused: 0, notaryChecks: 0 };
  const out = await fc.check(property(c), { numRuns: o.runs, seed: o.seed, endOnFailure: true });
  return {
    target,
    ...c,
    failure: out.failed
      ? `${fc.defaultReportMessage(out) ?? 'failed'}\n${String(out.errorInstance)}`
      : null,
    durationMs: Math.round(performance.now() - started),
  };
}

const notServerError = (what: string, status: number, body: string) => {
  if (status >= 500 || status === 0)
    throw new Error(`${what} answered ${status}: ${body.slice(0, 300)}`);
};

// ---------------------------------------------------------------------------------------------

const uploadCase = fc.record({
  role: fc.constantFrom('targets', 'targets', 'root'),
  delegation: fc.boolean(),
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
  envelopeTwin: fc.constantFrom('none', 'none', 'none', 'Signed', 'SIGNATURES', 'Signed-null'),
  /** Sign with the role's key, or with an unrelated one (a plain forgery). */
  rightKey: fc.boolean(),
  check: fc.double({ min: 0, max: 1, noNaN: true }),
});

export function fuzzUploads(s: FuzzServer, o: FuzzOptions): Promise<FuzzReport> {
  // A refused upload leaves the repository as it was (the property checks that), so one
  // repository serves every case until an upload is accepted; then the next case gets a new one.
  let n = 0;
  let current: FuzzRepo | undefined;
  return report('upload', o, (c) =>
    fc.asyncProperty(uploadCase, async (k) => {
      const repo = (current ??= await makeRepo(s, `fuzz.test/upload/r${++n}`));
      let doc: JsonObject;
      let key = k.role === 'root' ? repo.rootKey : repo.targetsKey;
      if (k.role === 'root') doc = { ...structuredClone(repo.rootSigned), version: 2 };
      else {
        const dkey = plainKey('ecdsa');
        doc = targetsSigned({
          targets: [{ name: 'v1' }, { name: 'v2', custom: { note: 'fuzz' } }],
          version: 2,
          ...(k.delegation
            ? {
                delegations: {
                  keys: [dkey],
                  roles: [{ name: 'targets/releases', keyids: [dkey.publicKey.id], paths: [''] }],
                },
              }
            : {}),
        });
      }
      for (const m of k.mutations) applyMutation(doc, m);
      if (!k.rightKey) key = plainKey('ecdsa');
      const before = s.databaseDigest();
      const ans = await upload(s, repo.gun, { [k.role]: envelope(doc, [key], k.envelopeTwin) });
      c.cases++;
      notServerError('the upload', ans.status, ans.body);
      if (ans.status === 200) {
        c.accepted++;
        current = undefined;
        if (k.check < o.notaryCheckShare) {
          c.notaryChecks++;
          await using client = await NotaryClient.create({ server: s.sut });
          const r = await client.run(['list', repo.gun]);
          if (r.code !== 0) {
            const said = `${r.stdout}\n${r.stderr}`.trim().slice(0, 400);
            throw new Error(`accepted, then a fresh notary client cannot list: ${said}`);
          }
        }
      } else {
        c.refused++;
        if (s.databaseDigest() !== before)
          throw new Error(`refused with ${ans.status}, yet the database changed`);
      }
      await s.assertAlive();
    })
  );
}

// ---------------------------------------------------------------------------------------------

/** Path segments that have broken servers: traversal, encodings, NUL, controls, very long. */
const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '',
    '%2e%2e',
    '%2E%2e',
    '%252e%252e',
    '%00',
    '%2f',
    '%5c',
    '%E2%80%AE',
    '%C0%AE',
    '%ff%fe',
    '~',
    'a'.repeat(256),
    'x'.repeat(5_000),
    'fuzz.test',
    'example.com'
  ),
  fc.webSegment(),
  fc.string({ maxLength: 20, unit: 'binary' }).map(encodeURIComponent)
);
const roleFile = fc.oneof(
  fc.constantFrom(
    'root.json',
    'targets.json',
    'snapshot.json',
    'timestamp.json',
    'targets/releases.json',
    '1.root.json',
    '0.root.json',
    '-1.root.json',
    '99999999999999999999.root.json',
    `targets.${'ab'.repeat(32)}.json`,
    'timestamp.key',
    'snapshot.key',
    'root.key',
    '../root.json',
    'targets/../root.json',
    'targets%2f..%2froot.json'
  ),
  segment.map((x) => `${x}.json`)
);

export function fuzzReads(s: FuzzServer, o: FuzzOptions): Promise<FuzzReport> {
  return report('read', o, (c) =>
    fc.asyncProperty(
      fc.array(segment, { minLength: 1, maxLength: 6 }),
      roleFile,
      fc.constantFrom('GET', 'GET', 'HEAD', 'OPTIONS', 'PUT'),
      fc.constantFrom('/_trust/tuf/', '/_trust/changefeed', '/', '/_trust/tuf'),
      async (gun, file, method, middle) => {
        const path = `/v2/${gun.join('/')}${middle}${middle.endsWith('/') ? file : ''}`;
        const ans = await s.send(method, path);
        c.cases++;
        if (ans.status < 400) c.accepted++;
        else c.refused++;
        notServerError(`${method} ${path.slice(0, 200)}`, ans.status, ans.body);
        await s.assertAlive();
      }
    )
  );
}

// ---------------------------------------------------------------------------------------------

export const STORE_CONFIG = {
  countersign: { store: { zones: [{ staging: 'staging.fuzz.test/', public: 'fuzz.test/' }] } },
};
export const STORE_ACCOUNTS = {
  admin: { role: 'admin' as const, password: 'admin-password-fuzz', namespaces: [] },
  pub: {
    role: 'publisher' as const,
    password: 'publisher-password',
    namespaces: ['staging.fuzz.test/pub/'],
  },
  rev: { role: 'reviewer' as const, password: 'reviewer-password', namespaces: [] },
};

const hostileBody = fc.oneof(
  fc.json({ maxDepth: 4 }).map((t) => Buffer.from(t)),
  fc
    .record(
      {
        gun: fc.oneof(
          fc.constantFrom('staging.fuzz.test/pub/app', 'fuzz.test/pub/app', '../x'),
          fc.string()
        ),
        tag: fc.oneof(fc.constantFrom('1.0', 'latest', '', '../..'), fc.string()),
        decision: fc.constantFrom('approve', 'reject', 'maybe', ''),
        note: fc.string(),
        reason: fc.string(),
        checks: fc.anything(),
      },
      { requiredKeys: [] }
    )
    .map((r) => Buffer.from(JSON.stringify(r))),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1, max: 200_000 }).map((d) => Buffer.from('['.repeat(d) + ']'.repeat(d))),
  fc.constantFrom(Buffer.from('{"gun":'), Buffer.from('null'), Buffer.from('"x"'), Buffer.alloc(0))
);
const storeRoute = fc.oneof(
  fc.constantFrom<[string, string]>(
    ['POST', '/api/v1/submissions'],
    ['GET', '/api/v1/submissions'],
    ['GET', '/api/v1/submissions?state=verified'],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/audit/verify'],
    ['GET', '/api/v1/store/ca.pem']
  ),
  fc
    .tuple(
      fc.constantFrom('GET', 'POST'),
      fc.oneof(fc.uuid(), segment),
      fc.constantFrom('', '/verify', '/reports', '/reviews', '/publish')
    )
    .map(([m, id, tail]): [string, string] => [m, `/api/v1/submissions/${id}${tail}`]),
  fc
    .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }))
    .map(([g]): [string, string] => ['POST', `/api/v1/repositories/${g.join('/')}/revocations`]),
  fc
    .tuple(segment, segment)
    .map(([g, since]): [string, string] => ['GET', `/api/v1/audit?gun=${g}&since=${since}`])
);
const credentials = fc.oneof(
  fc.constantFrom<string | undefined>(
    undefined,
    basicOf('admin', STORE_ACCOUNTS.admin.password),
    basicOf('pub', STORE_ACCOUNTS.pub.password),
    basicOf('rev', STORE_ACCOUNTS.rev.password),
    basicOf('admin', 'wrong'),
    'Basic',
    'Basic !!!',
    'Bearer a.b.c',
    'Bearer eyJhbGciOiJub25lIn0.e30.'
  ),
  fc.string().map((x) => `Basic ${Buffer.from(x).toString('base64')}`)
);

function basicOf(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export function fuzzStore(s: FuzzServer, o: FuzzOptions): Promise<FuzzReport> {
  return report('store', o, (c) =>
    fc.asyncProperty(
      storeRoute,
      hostileBody,
      credentials,
      fc.boolean(),
      async ([method, path], body, auth, json) => {
        const headers: Record<string, string> = {};
        if (auth) headers.authorization = auth;
        if (json) headers['content-type'] = 'application/json';
        const ans = await s.send(method, path, method === 'POST' ? { headers, body } : { headers });
        c.cases++;
        if (ans.status < 400) c.accepted++;
        else c.refused++;
        notServerError(`${method} ${path.slice(0, 200)}`, ans.status, ans.body);
        await s.assertAlive();
      }
    )
  );
}

// ---------------------------------------------------------------------------------------------

const scope = fc.oneof(
  fc.constantFrom(
    'repository:staging.fuzz.test/pub/app:pull,push',
    'repository:fuzz.test/pub/app:pull',
    'repository:fuzz.test/../x:pull',
    'repository:fuzz.test/%2e%2e/x:pull',
    'repository:fuzz.test//x:*',
    'repository:fuzz.test/\u202eapp:pull',
    'repository::pull',
    'repository',
    'registry:catalog:*',
    ':::',
    ''
  ),
  fc
    .tuple(
      fc.constantFrom('repository', 'registry', ''),
      fc.array(segment, { maxLength: 3 }),
      fc.string()
    )
    .map(([t, g, a]) => `${t}:${g.join('/')}:${a}`)
);

export function fuzzToken(s: FuzzServer, o: FuzzOptions): Promise<FuzzReport> {
  return report('token', o, (c) =>
    fc.asyncProperty(
      fc.array(scope, { maxLength: 4 }),
      fc.option(fc.string({ maxLength: 40 })),
      fc.option(fc.string({ maxLength: 40 })),
      credentials,
      fc.constantFrom('GET', 'POST'),
      async (scopes, service, account, auth, method) => {
        const q = new URLSearchParams();
        for (const sc of scopes) q.append('scope', sc);
        if (service !== null) q.set('service', service);
        if (account !== null) q.set('account', account);
        const headers: Record<string, string> = auth ? { authorization: auth } : {};
        const ans =
          method === 'GET'
            ? await s.send('GET', `/auth/token?${q.toString()}`, { headers })
            : await s.send('POST', '/auth/token', {
                headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
                body: Buffer.from(
                  `grant_type=password&username=${account ?? ''}&password=x&${q.toString()}`
                ),
              });
        c.cases++;
        if (ans.status < 400) c.accepted++;
        else c.refused++;
        notServerError(`${method} /auth/token`, ans.status, ans.body);
        await s.assertAlive();
      }
    )
  );
}

/** Starts the server each target needs and runs it. */
export async function runFuzzTarget(target: FuzzTarget, o: FuzzOptions): Promise<FuzzReport> {
  const store = target === 'store' || target === 'token';
  const s = await FuzzServer.start(store ? STORE_CONFIG : {});
  try {
    if (store) {
      for (const [name, a] of Object.entries(STORE_ACCOUNTS))
        await s.app.addAccount(name, a.role, a.password, a.namespaces);
    }
    switch (target) {
      case 'upload':
        return await fuzzUploads(s, o);
      case 'read':
        return await fuzzReads(s, o);
      case 'store':
        return await fuzzStore(s, o);
      case 'token':
        return await fuzzToken(s, o);
    }
  } finally {
    await s.stop();
  }
}
