/**
 * Differential: the HTTP surface around the update (docs/protocol.md §1) against notary-server 0.7 —
 * methods and paths the router refuses, unclean paths, changefeed parameters, and the places
 * Countersign deliberately departs from notary's memory backend (by-checksum reads of another
 * role, prefix deletes) and from its anything-goes GUNs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rolesBody } from '../helpers/multipart.js';
import type { RawRequest } from '../helpers/raw-http.js';
import {
  assertOutcome,
  compare,
  gunPath,
  newGun,
  newPair,
  publishedPair,
  record,
  send,
  standardTargets,
  Servers,
  type Expect,
  type Pair,
  type Repo,
} from './harness.js';

const OK: Expect = { status: 200 };
const NOT_FOUND: Expect = { status: 404, code: 'METADATA_NOT_FOUND' };
const INVALID_GUN: Expect = { status: 400, code: 'INVALID_GUN' };

let servers: Servers;
let shared: Pair;
let tuf: string;

before(async () => {
  servers = await Servers.start();
  shared = await publishedPair(servers, 'routes');
  tuf = `/v2/${gunPath(shared.gun)}/_trust/tuf`;
});
after(async () => {
  await servers?.stop();
});

const req =
  (
    method: string,
    path: string | (() => string),
    body?: Buffer
  ): ((repo: Repo | undefined) => RawRequest) =>
  () => ({
    method,
    path: typeof path === 'string' ? path : path(),
    ...(body ? { body, headers: { 'Content-Type': rolesBody([]).contentType } } : {}),
  });

describe('methods and paths', () => {
  const cases: [string, string, () => string, Expect][] = [
    ['HEAD on current root.json', 'HEAD', () => `${tuf}/root.json`, { status: 404 }],
    ['HEAD on /v2/', 'HEAD', () => '/v2/', { status: 404 }],
    ['PUT on the update URL', 'PUT', () => `${tuf}/`, NOT_FOUND],
    ['POST on /v2/', 'POST', () => '/v2/', NOT_FOUND],
    ['PATCH on root.json', 'PATCH', () => `${tuf}/root.json`, { status: 405 }],
    ['OPTIONS on /v2/', 'OPTIONS', () => '/v2/', { status: 405 }],
    ['GET an unknown path', 'GET', () => '/nothing/here', NOT_FOUND],
    ['GET an unknown role', 'GET', () => `${tuf}/foo.json`, NOT_FOUND],
    ['GET targets.key', 'GET', () => `${tuf}/targets.key`, NOT_FOUND],
    ['POST root.key', 'POST', () => `${tuf}/root.key`, NOT_FOUND],
    ['POST the update URL without its trailing slash', 'POST', () => tuf, NOT_FOUND],
    ['DELETE without the trailing slash', 'DELETE', () => tuf, NOT_FOUND],
    [
      'GET by a sha384-length checksum',
      'GET',
      () => `${tuf}/root.${'a'.repeat(96)}.json`,
      NOT_FOUND,
    ],
    ['GET version 0 of root', 'GET', () => `${tuf}/0.root.json`, NOT_FOUND],
    ['GET version 2 of root (never stored)', 'GET', () => `${tuf}/2.root.json`, NOT_FOUND],
    ['GET version 001 of root', 'GET', () => `${tuf}/001.root.json`, OK],
    ['GET a delegation never published', 'GET', () => `${tuf}/targets/nothing.json`, NOT_FOUND],
    ['GET a GUN with * in it', 'GET', () => '/v2/a*b/_trust/tuf/root.json', NOT_FOUND],
    ['POST to a GUN with * in it', 'POST', () => '/v2/a*b/_trust/tuf/', NOT_FOUND],
    ['GET /v2/', 'GET', () => '/v2/', OK],
    ['GET the health check', 'GET', () => '/_notary_server/health', OK],
  ];
  for (const [label, method, path, expected] of cases) {
    it(label, async () => {
      const { notary, countersign } = await compare(
        label,
        shared,
        req(method, path, method === 'POST' ? rolesBody([]).body : undefined),
        { both: expected }
      );
      if (expected.status === 405) {
        for (const o of [notary, countersign])
          assert.equal(o.body.length, 0, 'a 405 has an empty body');
      }
    });
  }

  it('GET the current root by an upper-case checksum', async () => {
    const root = await send(servers.countersign, { method: 'GET', path: `${tuf}/root.json` });
    const hex = createHash('sha256').update(root.body).digest('hex');
    // Each side has its own root bytes (its own server keys), so each asks for its own.
    await compare(
      'GET root.<SHA256 IN UPPER CASE>.json',
      shared,
      async (repo) => {
        const mine = await send((repo as Repo).side, { method: 'GET', path: `${tuf}/root.json` });
        return {
          method: 'GET',
          path: `${tuf}/root.${createHash('sha256').update(mine.body).digest('hex').toUpperCase()}.json`,
        };
      },
      { both: NOT_FOUND }
    );
    assert.equal(
      (await send(servers.countersign, { method: 'GET', path: `${tuf}/root.${hex}.json` })).status,
      200,
      'the lower-case name is served'
    );
  });
});

describe('unclean paths', () => {
  const cases: [string, string, string][] = [
    ['GET', '/v2/a//b/_trust/tuf/root.json', '/v2/a/b/_trust/tuf/root.json'],
    ['GET', '/v2/a/./b/_trust/tuf/root.json', '/v2/a/b/_trust/tuf/root.json'],
    ['GET', '/v2/a/../b/_trust/tuf/root.json?x=1', '/v2/b/_trust/tuf/root.json?x=1'],
    ['GET', '/v2/a/%2E%2E/b/_trust/tuf/root.json', '/v2/b/_trust/tuf/root.json'],
    ['POST', '/v2/a/./b/_trust/tuf/', '/v2/a/b/_trust/tuf/'],
    ['DELETE', '/v2/a//_trust/tuf/', '/v2/a/_trust/tuf/'],
    ['GET', '//v2/', '/v2/'],
  ];
  for (const [method, path, location] of cases) {
    it(`${method} ${path}`, async () => {
      const { notary, countersign } = await compare(
        `${method} ${path} (unclean)`,
        shared,
        req(method, path, method === 'POST' ? rolesBody([]).body : undefined),
        { both: { status: 301 } }
      );
      assert.equal(notary.headers.location, location);
      assert.equal(countersign.headers.location, notary.headers.location);
      assert.equal(countersign.body.length, 0);
    });
  }
});

describe('changefeed parameters', () => {
  const cases: [string, string, Expect][] = [
    ['records missing', '', { status: 400, code: 'INVALID_PARAMETERS' }],
    ['records=abc', '?records=abc', { status: 400, code: 'INVALID_PARAMETERS' }],
    ['records=99999999999', '?records=99999999999', { status: 400, code: 'INVALID_PARAMETERS' }],
    ['records=1.5', '?records=1.5', { status: 400, code: 'INVALID_PARAMETERS' }],
    [
      'records=%01 (a control character)',
      '?records=%01',
      { status: 400, code: 'INVALID_PARAMETERS' },
    ],
    [
      'records=%22%5C (quote and backslash)',
      '?records=%22%5C',
      { status: 400, code: 'INVALID_PARAMETERS' },
    ],
    ['records=%C3%A9 (é)', '?records=%C3%A9', { status: 400, code: 'INVALID_PARAMETERS' }],
    ['records=%FF (not UTF-8)', '?records=%FF', { status: 400, code: 'INVALID_PARAMETERS' }],
    ['records=%3Cb%3E (HTML)', '?records=%3Cb%3E', { status: 400, code: 'INVALID_PARAMETERS' }],
    ['change_id=x', '?records=10&change_id=x', { status: 400, code: 'INVALID_PARAMETERS' }],
    [
      'change_id=2147483648',
      '?records=10&change_id=2147483648',
      { status: 400, code: 'INVALID_PARAMETERS' },
    ],
    [
      'records=+5 (a space once decoded)',
      '?records=+5',
      { status: 400, code: 'INVALID_PARAMETERS' },
    ],
    ['records=%2B5', '?records=%2B5', OK],
    ['records=0', '?records=0', OK],
    ['change_id empty', '?records=10&change_id=', OK],
    ['newest first page', '?records=-10&change_id=-1', OK],
  ];
  for (const [label, query, expected] of cases) {
    it(label, async () => {
      const { notary, countersign } = await compare(
        `per-GUN changefeed, ${label}`,
        shared,
        req('GET', () => `/v2/${gunPath(shared.gun)}/_trust/changefeed${query}`),
        { both: expected }
      );
      // Go quotes the value with strconv.Quote (\x01, \xff for a byte that is not UTF-8),
      // Countersign as JSON (\u0001, and U+FFFD once URLSearchParams decoded it): same code, the
      // detail text differs only for those values.
      if (expected.status === 400 && !/%01|%FF/.test(query))
        assert.deepEqual(countersign.detail, notary.detail, 'detail');
      if (expected.status === 200) {
        const records = (o: typeof notary) =>
          (
            JSON.parse(o.body.toString('utf8')) as {
              records: { GUN: string; Version: number; Category: string }[] | null;
            }
          ).records ?? [];
        const shape = (o: typeof notary) => records(o).map((r) => [r.GUN, r.Version, r.Category]);
        assert.deepEqual(shape(countersign), shape(notary), 'the same records');
      }
    });
  }

  it('the global changefeed without records', async () => {
    const { notary, countersign } = await compare(
      'global changefeed, records missing',
      shared,
      req('GET', '/v2/_trust/changefeed'),
      { both: { status: 400, code: 'INVALID_PARAMETERS' } }
    );
    assert.deepEqual(countersign.detail, notary.detail);
  });
});

describe('where Countersign departs from the memory backend', () => {
  it('a by-checksum URL serves only the role it names', async () => {
    const p = await publishedPair(servers, 'checksum role');
    await compare(
      'GET targets.<sha256 of root.json>.json',
      p,
      async (repo) => {
        const r = repo as Repo;
        const root = await send(r.side, { method: 'GET', path: `${r.tufPath}root.json` });
        return {
          method: 'GET',
          path: `${r.tufPath}targets.${createHash('sha256').update(root.body).digest('hex')}.json`,
        };
      },
      { notary: OK, countersign: NOT_FOUND }
    );
  });

  it('DELETE of a/b never touches a/bc', async () => {
    const base = newGun('prefix delete');
    const ab = await publishedPair(servers, 'ab', { gun: `${base}/a/b` });
    const abc = await publishedPair(servers, 'abc', { gun: `${base}/a/bc` });
    for (const side of servers.sides) {
      const del = await send(side, {
        method: 'DELETE',
        path: `/v2/${gunPath(ab.gun)}/_trust/tuf/`,
      });
      assertOutcome(del, OK, `${side.name}: DELETE ${ab.gun}`);
      assertOutcome(
        await send(side, { method: 'GET', path: `/v2/${gunPath(ab.gun)}/_trust/tuf/root.json` }),
        NOT_FOUND,
        `${side.name}: ${ab.gun} is gone`
      );
    }
    const after = async (side: (typeof servers.sides)[number]) =>
      send(side, { method: 'GET', path: `/v2/${gunPath(abc.gun)}/_trust/tuf/root.json` });
    const notary = await after(servers.notary);
    const countersign = await after(servers.countersign);
    // The reference memory backend deletes every GUN with the deleted one as a string prefix.
    assertOutcome(notary, NOT_FOUND, `notary-server: ${abc.gun} after DELETE ${ab.gun}`);
    assertOutcome(countersign, OK, `countersign: ${abc.gun} after DELETE ${ab.gun}`);
    record(`GET …/a/bc/…/root.json after DELETE …/a/b/`, notary, countersign, 'stricter');
  });
});

describe('GUNs with path tricks', () => {
  it('dot segments and empty segments never reach a handler: the router redirects', async () => {
    for (const [method, gunText] of [
      ['POST', 'a/../b'],
      ['POST', 'a/./b'],
      ['POST', 'a//b'],
      ['GET', 'a/../b'],
    ] as const) {
      const path = `/v2/${gunText}/_trust/tuf/${method === 'GET' ? 'root.json' : ''}`;
      await compare(
        `${method} with GUN ${gunText}`,
        shared,
        req(method, path, method === 'POST' ? rolesBody([]).body : undefined),
        { both: { status: 301 } }
      );
    }
  });

  // `stores`: notary publishes the repository. A newline in the certificate CN makes notary's
  // root validation fail ("unable to retrieve valid leaf certificates"), so that GUN only shows
  // notary getting as far as validating an upload for it.
  for (const [label, suffix, stores] of [
    ['a backslash', 'a\\b', true],
    ['a tab', 'a\tb', true],
    ['a newline', 'a\nb', false],
    ['a DEL', 'a\u007fb', true],
    ['a space', 'a b', true],
  ] as const) {
    it(`a GUN with ${label}`, async () => {
      const gun = `${newGun('gun tricks')}/${suffix}`;
      const p = await pairForRefusedGun(gun);
      const t = standardTargets(p.keys, false);
      await compare(
        `POST root+targets to a GUN with ${label}`,
        p,
        (repo) =>
          (repo as Repo).post(
            rolesBody([
              ['root', (repo as Repo).root()],
              ['targets', t],
            ])
          ),
        {
          notary: stores ? OK : { status: 400, code: 'INVALID_UPDATE', name: 'ErrBadRoot' },
          countersign: INVALID_GUN,
          verdict: stores ? 'stricter' : 'differs',
        }
      );
      if (stores) {
        await compare(
          `GET root.json of a GUN with ${label}`,
          p,
          (repo) => ({ method: 'GET', path: `${(repo as Repo).tufPath}root.json` }),
          { notary: OK, countersign: NOT_FOUND }
        );
      }
      await compare(
        `GET timestamp.key of a GUN with ${label}`,
        p,
        (repo) => ({ method: 'GET', path: `${(repo as Repo).tufPath}timestamp.key` }),
        { notary: OK, countersign: INVALID_GUN }
      );
      await compare(
        `GET the changefeed of a GUN with ${label}`,
        p,
        () => ({ method: 'GET', path: `/v2/${gunPath(gun)}/_trust/changefeed?records=10` }),
        {
          notary: OK,
          countersign: NOT_FOUND,
        }
      );
      await compare(
        `DELETE a GUN with ${label}`,
        p,
        (repo) => ({ method: 'DELETE', path: (repo as Repo).tufPath }),
        { notary: OK, countersign: INVALID_GUN }
      );
    });
  }

  it('a GUN longer than 255 bytes', async () => {
    const gun = `${newGun('long gun')}/${'x'.repeat(256)}`;
    const p = await pairForRefusedGun(gun);
    await compare(
      'POST root+targets to a 300-byte GUN',
      p,
      (repo) =>
        (repo as Repo).post(
          rolesBody([
            ['root', (repo as Repo).root()],
            ['targets', standardTargets(p.keys, false)],
          ])
        ),
      {
        notary: OK,
        countersign: INVALID_GUN,
      }
    );
    await compare(
      'GET root.json of a 300-byte GUN',
      p,
      (repo) => ({ method: 'GET', path: `${(repo as Repo).tufPath}root.json` }),
      { notary: OK, countersign: NOT_FOUND }
    );
  });
});

/** The same new repository on both servers for a GUN Countersign refuses (its copy lists keys made here). */
function pairForRefusedGun(gun: string): Promise<Pair> {
  return newPair(servers, gun, { gun, refusedByCountersign: true });
}
