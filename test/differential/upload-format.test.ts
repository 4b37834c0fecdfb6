/**
 * Differential: the parse phase of `POST …/_trust/tuf/` (docs/protocol.md §2.1–§2.3) against
 * notary-server 0.7 — the multipart framing, role filenames, the JSON shape of each part, and the
 * uploads notary accepts that look odd (empty form, duplicates, a timestamp part, `.json`
 * suffixes, multipart/mixed). The bytes sent are the same on both servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  multipartBody,
  rolesBody,
  type MultipartBody,
  type RawPart,
} from '../helpers/multipart.js';
import type { RawRequest } from '../helpers/raw-http.js';
import { sign, targetsSigned, timestampSignedFor } from '../helpers/tuf-builder.js';
import {
  assertClientWalk,
  compare,
  currentSigned,
  envelopeOf,
  forgedSignature,
  invalidUpdate,
  newPair,
  OK,
  publishedPair,
  Servers,
  standardTargets,
  storedState,
  withSignatures,
  type Expect,
  type Pair,
  type Repo,
} from './harness.js';

const MALFORMED_UPLOAD: Expect = { status: 400, code: 'MALFORMED_UPLOAD' };
const MALFORMED_JSON: Expect = { status: 400, code: 'MALFORMED_JSON' };
const DROPPED: Expect = { status: 'dropped' };

const post =
  (body: MultipartBody, contentType = body.contentType) =>
  (repo: Repo | undefined): RawRequest => {
    const headers: Record<string, string> =
      contentType === '' ? {} : { 'Content-Type': contentType };
    return { ...(repo as Repo).post(body), headers };
  };
const parts = (...p: RawPart[]) => multipartBody(p);

let servers: Servers;
/** A published repository every rejection below is sent to (its state must not move). */
let shared: Pair;
let goodTargets: Buffer;

before(async () => {
  servers = await Servers.start();
  shared = await publishedPair(servers, 'parse phase');
  goodTargets = standardTargets(shared.keys, false, 2);
});
after(async () => {
  await servers?.stop();
});

describe('the body', () => {
  it('is not multipart', async () => {
    await compare(
      'application/json body',
      shared,
      post(rolesBody([['targets', goodTargets]]), 'application/json'),
      { both: MALFORMED_UPLOAD }
    );
    await compare('no Content-Type', shared, post(rolesBody([['targets', goodTargets]]), ''), {
      both: MALFORMED_UPLOAD,
    });
    await compare(
      'text/plain with a boundary',
      shared,
      post(rolesBody([['targets', goodTargets]], { boundary: 'xyz' }), 'text/plain; boundary=xyz'),
      { both: MALFORMED_UPLOAD }
    );
  });

  it('has no boundary parameter', async () => {
    await compare(
      'multipart/form-data without boundary',
      shared,
      post(rolesBody([['targets', goodTargets]]), 'multipart/form-data'),
      { both: MALFORMED_UPLOAD }
    );
  });

  it('is zero bytes long', async () => {
    const empty = { ...rolesBody([]), body: Buffer.alloc(0) };
    await compare('zero-byte multipart body', shared, post(empty), {
      notary: DROPPED,
      countersign: MALFORMED_UPLOAD,
    });
  });

  it('is cut short inside the JSON of a part', async () => {
    // notary's JSON decoder meets the unexpected EOF first and says MALFORMED_JSON; Countersign
    // reads the whole multipart body before any JSON and calls every truncated body malformed.
    const full = rolesBody([['targets', goodTargets]]);
    const cut = rolesBody([['targets', goodTargets]], {
      boundary: full.boundary,
      truncateAt: Math.floor(full.body.length / 2),
    });
    await compare('multipart body truncated inside the JSON of a part', shared, post(cut), {
      notary: MALFORMED_JSON,
      countersign: MALFORMED_UPLOAD,
      verdict: 'differs',
    });
  });

  it('is cut short right after the content of a part', async () => {
    const full = rolesBody([['targets', goodTargets]]);
    const tail = Buffer.byteLength(`\r\n--${full.boundary}--\r\n`);
    const cut = rolesBody([['targets', goodTargets]], {
      boundary: full.boundary,
      truncateAt: full.body.length - tail,
    });
    await compare('multipart body truncated right after a complete part', shared, post(cut), {
      notary: DROPPED,
      countersign: MALFORMED_UPLOAD,
    });
  });

  it('has no closing delimiter', async () => {
    await compare(
      'multipart body without the closing --boundary--',
      shared,
      post(rolesBody([['targets', goodTargets]], { unterminated: true })),
      { notary: DROPPED, countersign: MALFORMED_UPLOAD }
    );
  });

  it('never mentions its boundary', async () => {
    const body = { ...rolesBody([]), body: Buffer.from('just some bytes\r\n') };
    await compare('body without any boundary line', shared, post(body), {
      notary: DROPPED,
      countersign: MALFORMED_UPLOAD,
    });
  });
});

describe('role filenames', () => {
  it('empty or missing filename', async () => {
    const NO_FILENAME: Expect = { status: 400, code: 'NO_FILENAME' };
    await compare(
      'part with filename=""',
      shared,
      post(parts({ filename: '', data: goodTargets })),
      { both: NO_FILENAME }
    );
    await compare(
      'part with filename=".json"',
      shared,
      post(parts({ filename: '.json', data: goodTargets })),
      { both: NO_FILENAME }
    );
    await compare('part without a filename parameter', shared, post(parts({ data: goodTargets })), {
      both: NO_FILENAME,
    });
    await compare(
      'part without a Content-Disposition',
      shared,
      post(parts({ data: goodTargets, headers: ['Content-Type: application/octet-stream'] })),
      { both: NO_FILENAME }
    );
    await compare(
      'a good part, then one without a Content-Disposition',
      shared,
      post(
        parts(
          { filename: 'targets', data: goodTargets },
          { data: goodTargets, headers: ['Content-Type: application/octet-stream'] }
        )
      ),
      { both: NO_FILENAME }
    );
  });

  it('a Content-Disposition other than form-data', async () => {
    // notary reads the filename parameter of any disposition type; Countersign's multipart
    // parser (busboy) skips such parts, and Countersign refuses rather than lose them.
    const p = await publishedPair(servers, 'attachment disposition');
    const body = parts({
      data: standardTargets(p.keys, false, 2),
      headers: [
        'Content-Disposition: attachment; filename="targets"',
        'Content-Type: application/octet-stream',
      ],
    });
    await compare('part with Content-Disposition: attachment; filename="targets"', p, post(body), {
      notary: OK,
      countersign: { status: 400, code: 'NO_FILENAME' },
    });
  });

  for (const [filename, detail] of [
    ['foo', 'foo'],
    ['foo.json', 'foo'],
    ['targets/../x', 'targets/../x'],
    ['targets/', 'targets/'],
    ['targets//x', 'targets//x'],
    ['Targets', 'Targets'],
    ['targets/Releases', 'targets/Releases'],
    ['root.json.json', 'root.json'],
    ['/targets', '/targets'],
    ['TARGETS.JSON', 'TARGETS.JSON'],
    [' targets', ' targets'],
  ] as const) {
    it(`filename ${JSON.stringify(filename)}`, async () => {
      const { notary, countersign } = await compare(
        `role filename ${JSON.stringify(filename)}`,
        shared,
        post(parts({ filename, data: goodTargets })),
        {
          both: { status: 400, code: 'INVALID_ROLE' },
        }
      );
      assert.equal(notary.detail, detail);
      assert.equal(countersign.detail, notary.detail);
    });
  }
});

describe('JSON of a part', () => {
  const envelope = (signed: string, rest = ',"signatures":[]') => `{"signed":${signed}${rest}}`;
  const expires = '"2030-01-01T00:00:00Z"';
  for (const [label, data] of [
    ['not JSON', 'this is not json'],
    ['zero bytes', ''],
    ['a JSON array', '[1,2]'],
    ['version 1.5', envelope(`{"_type":"Targets","expires":${expires},"version":1.5}`)],
    ['version "2"', envelope(`{"_type":"Targets","expires":${expires},"version":"2"}`)],
    ['expires not RFC 3339', envelope(`{"_type":"Targets","expires":"tomorrow","version":2}`)],
    ['_type a number', envelope(`{"_type":7,"expires":${expires},"version":2}`)],
    [
      'signatures an object',
      envelope(`{"_type":"Targets","expires":${expires},"version":2}`, ',"signatures":{}'),
    ],
  ] as const) {
    it(label, async () => {
      await compare(`targets part: ${label}`, shared, post(parts({ filename: 'targets', data })), {
        both: MALFORMED_JSON,
      });
    });
  }

  // Go's decoder only fails on syntax and wrong JSON types: what it lets through, the role's
  // validation rejects as INVALID_UPDATE.
  for (const [label, filename, data, expected] of [
    ['{}', 'targets', () => '{}', invalidUpdate('ErrBadTargets')],
    ['null', 'targets', () => 'null', invalidUpdate('ErrBadTargets')],
    [
      'no signatures field',
      'targets',
      () => envelope(`{"_type":"Targets","expires":${expires},"version":2}`, ''),
      invalidUpdate('ErrBadTargets'),
    ],
    ['{} as root', 'root', () => '{}', invalidUpdate('ErrBadRoot')],
    ['{} as snapshot', 'snapshot', () => '{}', invalidUpdate('ErrBadSnapshot')],
    [
      'invalid UTF-8 in a target name',
      'targets',
      () => Buffer.from(goodTargets.toString('latin1').replace('"v1"', '"v\xff1"'), 'latin1'),
      invalidUpdate('ErrBadTargets'),
    ],
    [
      'a byte order mark before the JSON',
      'targets',
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), goodTargets]),
      MALFORMED_JSON,
    ],
    [
      'a sig that is not base64',
      'targets',
      () => goodTargets.toString().replace(/"sig":"[^"]+"/, '"sig":"@@@@"'),
      MALFORMED_JSON,
    ],
  ] as const) {
    it(label, async () => {
      await compare(`${filename} part: ${label}`, shared, post(parts({ filename, data: data() })), {
        both: expected,
      });
    });
  }

  it('trailing bytes after the JSON value', async () => {
    // Go's json.Decoder stops after the first value, so notary's parse phase passes and the
    // role's full decode fails later (ErrBadTargets); Countersign parses the part whole. Both 400.
    await compare(
      'targets part followed by "garbage"',
      shared,
      post(
        parts({ filename: 'targets', data: Buffer.concat([goodTargets, Buffer.from('garbage')]) })
      ),
      {
        notary: invalidUpdate('ErrBadTargets'),
        countersign: MALFORMED_JSON,
        verdict: 'differs',
      }
    );
  });

  it('an integral version written as 2.0 (Go refuses the literal; we check the text, not only JSON.parse)', async () => {
    const p = await publishedPair(servers, 'version 2.0');
    const t = standardTargets(p.keys, false, 2).toString().replace('"version":2', '"version":2.0');
    await compare('targets with "version":2.0', p, post(parts({ filename: 'targets', data: t })), {
      both: MALFORMED_JSON,
    });
  });

  it('the first bad part decides', async () => {
    await compare(
      'bad JSON part before a part with an invalid role',
      shared,
      post(parts({ filename: 'targets', data: 'nope' }, { filename: 'foo', data: goodTargets })),
      { both: MALFORMED_JSON }
    );
    const { notary } = await compare(
      'invalid role part before a bad JSON part',
      shared,
      post(parts({ filename: 'foo', data: goodTargets }, { filename: 'targets', data: 'nope' })),
      {
        both: { status: 400, code: 'INVALID_ROLE' },
      }
    );
    assert.equal(notary.detail, 'foo');
  });

  it('a bad JSON timestamp part is still parsed', async () => {
    await compare(
      'timestamp part that is not JSON',
      shared,
      post(parts({ filename: 'timestamp', data: '{' })),
      { both: MALFORMED_JSON }
    );
  });
});

describe('uploads notary accepts', () => {
  it('an empty form on a repository whose snapshot key the server holds', async () => {
    const p = await publishedPair(servers, 'empty form');
    const before = await Promise.all(
      servers.sides.map((s) => currentSigned(s, p.gun, 'timestamp'))
    );
    await compare(
      'empty multipart form (zero parts), server snapshot key',
      p,
      post(rolesBody([])),
      { both: OK }
    );
    for (const [i, side] of servers.sides.entries()) {
      // Re-signed: a new snapshot and a new timestamp, nothing else.
      assert.equal((await currentSigned(side, p.gun, 'snapshot')).version, 2, side.name);
      assert.equal(
        (await currentSigned(side, p.gun, 'timestamp')).version,
        (before[i] as { version: number }).version + 1,
        side.name
      );
      assert.equal((await currentSigned(side, p.gun, 'targets')).version, 1, side.name);
    }
  });

  it('an empty form on a new repository', async () => {
    const p = await newPair(servers, 'empty form new');
    await compare('empty multipart form on a new repository', p, post(rolesBody([])), {
      both: invalidUpdate('ErrValidation'),
    });
  });

  it('an empty form when the client holds the snapshot key', async () => {
    const p = await publishedPair(servers, 'empty form client snapshot', { clientSnapshot: true });
    await compare('empty multipart form, client snapshot key', p, post(rolesBody([])), {
      both: invalidUpdate('ErrBadHierarchy'),
    });
  });

  it('duplicate role parts: the last one wins', async () => {
    const p = await publishedPair(servers, 'duplicates last good');
    const good = standardTargets(p.keys, false, 2);
    const forged = withSignatures(good, () => [forgedSignature(p.keys.targets)]);
    await compare(
      'two targets parts, the last valid',
      p,
      post(
        rolesBody([
          ['targets', forged],
          ['targets', good],
        ])
      ),
      { both: OK }
    );
    for (const side of servers.sides)
      assert.deepEqual((await currentSigned(side, p.gun, 'targets')).raw, good, side.name);

    const q = await publishedPair(servers, 'duplicates last bad');
    const good2 = standardTargets(q.keys, false, 2);
    const forged2 = withSignatures(good2, () => [forgedSignature(q.keys.targets)]);
    await compare(
      'two targets parts, the last forged',
      q,
      post(
        rolesBody([
          ['targets', good2],
          ['targets', forged2],
        ])
      ),
      { both: invalidUpdate('ErrBadTargets') }
    );
  });

  it('an uploaded timestamp is ignored', async () => {
    const p = await publishedPair(servers, 'timestamp part');
    const t = standardTargets(p.keys, false, 2);
    const fake = sign(timestampSignedFor(t, 99), [p.keys.targets]);
    await compare(
      'targets plus a client-made timestamp',
      p,
      post(
        rolesBody([
          ['targets', t],
          ['timestamp', fake],
        ])
      ),
      { both: OK }
    );
    for (const r of p.both) {
      const served = await currentSigned(r.side, p.gun, 'timestamp');
      assert.notDeepEqual(served.raw, fake, r.side.name);
      assert.equal(served.version, 2, r.side.name);
      assert.deepEqual(
        envelopeOf(served.raw).signatures.map((s) => s.keyid),
        [r.timestampKey.id],
        `${r.side.name}: the timestamp is signed by the server's key`
      );
    }
  });

  it('a timestamp part Go decodes leniently', async () => {
    const p = await publishedPair(servers, 'empty timestamp part');
    await compare(
      'timestamp part "{}" (and nothing else)',
      p,
      post(parts({ filename: 'timestamp', data: '{}' })),
      { both: OK }
    );
  });

  it('unknown fields and surrounding whitespace', async () => {
    const p = await publishedPair(servers, 'unknown fields');
    const t = Buffer.from(
      ` \n${standardTargets(p.keys, false, 2).toString().replace('{"signed":', '{"extra":[1,{"a":null}],"signed":')}\n `
    );
    await compare(
      'targets with an unknown top-level field and whitespace around it',
      p,
      post(parts({ filename: 'targets', data: t })),
      { both: OK },
      { resultsDiffer: true }
    );
    // Both serve the uploaded bytes. notary hashes its own re-serialization of the parsed file
    // into the snapshot it generates (docs/protocol.md §2.8), so its snapshot promises bytes it never
    // serves and clients reject the repository; Countersign hashes the bytes it serves.
    for (const side of servers.sides) {
      const served = await currentSigned(side, p.gun, 'targets');
      assert.deepEqual(served.raw, t, `${side.name} serves the uploaded bytes`);
      const entry = (await currentSigned(side, p.gun, 'snapshot')).signed.meta as Record<
        string,
        { length: number; hashes: { sha256: string } }
      >;
      const promised = entry.targets as { length: number; hashes: { sha256: string } };
      const matches =
        promised.length === t.length &&
        promised.hashes.sha256 === createHash('sha256').update(t).digest('base64');
      assert.equal(
        matches,
        side.name === 'countersign',
        `${side.name}: snapshot entry for targets ${matches ? 'matches' : 'does not match'} the served bytes`
      );
    }
    // So a client's pull (targets by the sha256 the snapshot names) works only against Countersign.
    await assertClientWalk('countersign', p.countersign);
    await assert.rejects(
      assertClientWalk('notary-server', p.notary),
      /GET targets\.<sha256>\.json/
    );
  });

  it('a field name in another case', async () => {
    // Go matches JSON keys to struct fields case-insensitively, in the parse phase and in the
    // role's own decode, so notary stores a file whose key is "Signed". Countersign's TUF parsers
    // read exact keys (as every non-Go TUF client does) and refuse it.
    const p = await publishedPair(servers, 'signed key case');
    const t = standardTargets(p.keys, false, 2).toString().replace('"signed"', '"Signed"');
    await compare(
      'targets whose envelope key is "Signed"',
      p,
      post(parts({ filename: 'targets', data: t })),
      { notary: OK, countersign: invalidUpdate('ErrBadTargets') }
    );
  });

  it('filenames with a .json suffix', async () => {
    const p = await publishedPair(servers, 'json suffix', { delegation: true });
    const t = standardTargets(p.keys, true, 2);
    const d = sign(targetsSigned({ version: 2 }), [p.keys.delegation]);
    await compare(
      'targets.json and targets/releases.json',
      p,
      post(
        rolesBody([
          ['targets.json', t],
          ['targets/releases.json', d],
        ])
      ),
      { both: OK }
    );
    for (const side of servers.sides)
      assert.equal((await currentSigned(side, p.gun, 'targets/releases')).version, 2, side.name);
  });

  it('multipart/mixed', async () => {
    const p = await publishedPair(servers, 'multipart mixed');
    await compare(
      'multipart/mixed body',
      p,
      post(rolesBody([['targets', standardTargets(p.keys, false, 2)]], { subtype: 'mixed' })),
      { both: OK }
    );
  });

  it('another form field name', async () => {
    const p = await publishedPair(servers, 'field name');
    await compare(
      'part named "whatever" instead of "files"',
      p,
      post(
        parts({ name: 'whatever', filename: 'targets', data: standardTargets(p.keys, false, 2) })
      ),
      { both: OK }
    );
  });

  for (const [label, make] of [
    [
      'upper-case media type and parameter name',
      (b: MultipartBody) => ({ body: b.body, type: `MULTIPART/FORM-DATA; BOUNDARY=${b.boundary}` }),
    ],
    [
      'a charset parameter before the boundary',
      (b: MultipartBody) => ({
        body: b.body,
        type: `multipart/form-data; charset=utf-8; boundary=${b.boundary}`,
      }),
    ],
    [
      'a preamble before the first boundary',
      (b: MultipartBody) => ({
        body: Buffer.concat([Buffer.from('preamble\r\n'), b.body]),
        type: b.contentType,
      }),
    ],
    [
      'an epilogue after the closing boundary',
      (b: MultipartBody) => ({
        body: Buffer.concat([b.body, Buffer.from('epilogue')]),
        type: b.contentType,
      }),
    ],
  ] as const) {
    it(label, async () => {
      const p = await publishedPair(servers, label);
      const { body, type } = make(rolesBody([['targets', standardTargets(p.keys, false, 2)]]));
      await compare(`body with ${label}`, p, post({ ...rolesBody([]), body }, type), { both: OK });
    });
  }

  it('part headers the Go client does not write', async () => {
    const p = await publishedPair(servers, 'other part headers');
    const t = standardTargets(p.keys, false, 2);
    await compare(
      'part without Content-Type, filename given as filename* (RFC 2231)',
      p,
      post(
        parts({
          data: t,
          headers: ['Content-Disposition: form-data; name="files"; filename*=UTF-8\'\'targets'],
        })
      ),
      { both: OK }
    );
  });

  it('LF-only line breaks: refused (Go accepts bare LF framing; RFC 2046 and every real client use CRLF)', async () => {
    const p = await publishedPair(servers, 'lf only');
    const b = rolesBody([['targets', standardTargets(p.keys, false, 2)]]);
    const lf = Buffer.from(b.body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    await compare('multipart body with LF-only line breaks', p, post({ ...b, body: lf }), {
      notary: OK,
      countersign: MALFORMED_UPLOAD,
    });
  });

  it('a quoted boundary parameter', async () => {
    const p = await publishedPair(servers, 'quoted boundary');
    const body = rolesBody([['targets', standardTargets(p.keys, false, 2)]]);
    await compare(
      'boundary="…" in Content-Type',
      p,
      post(body, `multipart/form-data; boundary="${body.boundary}"`),
      { both: OK }
    );
  });
});

describe('the harness itself', () => {
  it('sees an accepted update in the stored state', async () => {
    // The no-change check after rejections is only worth something if it can see a change.
    const p = await publishedPair(servers, 'harness state');
    const repo = p.countersign;
    const before = await storedState(repo.side, p.gun);
    await repo.publish(new Map([['targets', standardTargets(p.keys, false, 2)]]));
    const after = await storedState(repo.side, p.gun);
    assert.notDeepEqual(after, before);
    for (const key of [
      'targets.json',
      'snapshot.json',
      'timestamp.json',
      '2.targets.json',
      'changefeed',
      'global changefeed',
    ]) {
      assert.notEqual(after[key], before[key], key);
    }
  });
});
