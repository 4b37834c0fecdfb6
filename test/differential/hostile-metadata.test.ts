/**
 * Differential regressions from issue 20's independent fuzz run: uploads notary-server 0.7
 * accepts (or answers slowly) that leave a repository the real notary CLI cannot read, or wedge
 * it. Each is sent to both servers; where Countersign is stricter, the real notary CLI shows why
 * (it cannot read notary-server's copy) and reads Countersign's, which the refusal left intact.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes } from '../../src/canonical/encode.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import { rolesBody } from '../helpers/multipart.js';
import { plainKey, sign, targetsSigned, type TestKey } from '../helpers/tuf-builder.js';
import type { JsonObject } from '../../src/tuf/metadata.js';
import {
  compare,
  invalidUpdate,
  OK,
  publishedPair,
  roleFiles,
  send,
  Servers,
  uploadRoles,
  type Repo,
} from './harness.js';

/**
 * Envelope bytes with `signed` written in its own key order (JSON.stringify keeps insertion
 * order), signed over its canonical form: a field appended after its lower-case twin is what Go's
 * last-one-wins decoder reads, while the signature still verifies.
 */
function rawSigned(signed: JsonObject, keys: readonly TestKey[], extra: JsonObject = {}): Buffer {
  const msg = canonicalBytes(signed);
  const signatures = keys.map((k) => {
    const s = k.signing.sign(msg);
    return { keyid: k.publicKey.id, method: s.method, sig: s.sig.toString('base64') };
  });
  return Buffer.from(JSON.stringify({ signed, signatures, ...extra }));
}

const targetsV2 = (edit: (s: JsonObject) => void = () => {}): JsonObject => {
  const s = targetsSigned({ version: 2, targets: [{ name: 'v2', bytes: Buffer.from('v2') }] });
  edit(s);
  return s;
};

let servers: Servers;
before(async () => {
  servers = await Servers.start();
});
after(async () => {
  await servers?.stop();
});

/** `notary list` from a fresh trust directory: the target names, or the CLI's failure. */
async function cliList(repo: Repo): Promise<string[] | Error> {
  const client = await NotaryClient.create({ server: repo.side.sut });
  try {
    return (await client.list(repo.gun)).map((t) => t.name).sort();
  } catch (err) {
    return err as Error;
  } finally {
    await client.dispose();
  }
}

describe('deep nesting', () => {
  it('a 5-million-deep array is refused at once and other clients are served meanwhile', async () => {
    const p = await publishedPair(servers, 'deep nesting');
    const deep = Buffer.from('['.repeat(5_000_000) + ']'.repeat(5_000_000));
    const req = p.countersign.post(rolesBody(roleFiles(['targets', deep])));
    const started = performance.now();
    const [outcome, read] = await Promise.all([
      send(p.countersign.side, req),
      (async () => {
        await new Promise((r) => setTimeout(r, 20)); // while the 10 MB body is being handled
        const t = performance.now();
        const o = await send(p.countersign.side, {
          method: 'GET',
          path: `${p.countersign.tufPath}timestamp.json`,
        });
        return { status: o.status, ms: performance.now() - t };
      })(),
    ]);
    const uploadMs = performance.now() - started;
    assert.equal(outcome.status, 400);
    assert.equal(outcome.code, 'MALFORMED_JSON');
    assert.equal(read.status, 200);
    // Before the fix: 6.9 s for the upload, every other request blocked behind it.
    assert.ok(uploadMs < 3_000 && read.ms < 2_000, `upload ${uploadMs} ms, read ${read.ms} ms`);
    // notary-server refuses it too (Go's decoder stops at 10,000 levels): a 400, or the
    // connection closed while the body is still being sent.
    const reference = await send(
      p.notary.side,
      p.notary.post(rolesBody(roleFiles(['targets', deep])))
    );
    assert.ok(reference.status === 400 || reference.status === 'dropped', String(reference.status));
  });
});

/** What each server answers (notary-server's answers observed with the Debian 0.7 binary). */
const EXPECT_CASE: Record<string, Parameters<typeof compare>[3]> = {
  'a second "Version" after "version"': { notary: OK, countersign: invalidUpdate('ErrBadTargets') },
  // Go reads the variant: notary-server refuses for what it read (expired, of another type).
  '"Expires" in the past after "expires"': { both: invalidUpdate('ErrBadTargets') },
  '"_Type": "Root" after "_type"': { both: invalidUpdate('ErrBadTargets') },
};

describe('field names that differ only in case', () => {
  for (const [label, edit] of [
    ['a second "Version" after "version"', (s: JsonObject) => (s.Version = 7)],
    [
      '"Expires" in the past after "expires"',
      (s: JsonObject) => (s.Expires = '2001-01-01T00:00:00Z'),
    ],
    ['"_Type": "Root" after "_type"', (s: JsonObject) => (s._Type = 'Root')],
  ] as const) {
    it(`targets with ${label}: refused, and the CLI reads the repository as before`, async () => {
      const p = await publishedPair(servers, `case ${label}`);
      const { countersign } = await compare(
        `targets with ${label}`,
        p,
        uploadRoles((r) => roleFiles(['targets', rawSigned(targetsV2(edit), [r.keys.targets])])),
        EXPECT_CASE[label] as Parameters<typeof compare>[3]
      );
      assert.match(countersign.msg ?? '', /must be written|Go reads as one field/);
      assert.deepEqual(await cliList(p.countersign), ['v1']);
    });
  }

  it('"Signed": null next to "signed" is refused', async () => {
    const p = await publishedPair(servers, 'case Signed null');
    const out = await send(
      p.countersign.side,
      p.countersign.post(
        rolesBody(
          roleFiles(['targets', rawSigned(targetsV2(), [p.keys.targets], { Signed: null })])
        )
      )
    );
    assert.equal(out.status, 400);
    assert.equal(out.code, 'INVALID_UPDATE');
    assert.deepEqual(await cliList(p.countersign), ['v1']);
  });

  it('tags that differ only in case stay two tags, on both servers', async () => {
    const p = await publishedPair(servers, 'case tags');
    const t = sign(
      targetsSigned({
        version: 2,
        targets: [
          { name: 'v1', bytes: Buffer.from('a') },
          { name: 'V1', bytes: Buffer.from('b') },
        ],
      }),
      [p.keys.targets]
    );
    await compare(
      'tags v1 and V1',
      p,
      uploadRoles(() => roleFiles(['targets', t])),
      { both: OK }
    );
    assert.deepEqual(await cliList(p.countersign), ['V1', 'v1']);
  });
});

describe('key IDs that do not match their key content', () => {
  it('a root rotation listing the targets key under another ID: notary-server accepts and its clients break', async () => {
    const p = await publishedPair(servers, 'root key id');
    const wrongId = plainKey().publicKey.id;
    await compare(
      'root v2 listing the targets key under another ID',
      p,
      uploadRoles((r) =>
        roleFiles([
          'root',
          r.root({ version: 2, targets: [{ keyid: wrongId, key: p.keys.targets.publicKey }] }),
        ])
      ),
      { notary: OK, countersign: invalidUpdate('ErrBadRoot') }
    );
    assert.ok(
      (await cliList(p.notary)) instanceof Error,
      'the notary CLI cannot read notary-server'
    );
    assert.deepEqual(await cliList(p.countersign), ['v1']);
  });

  it('delegation keys listed under another ID are refused', async () => {
    const p = await publishedPair(servers, 'delegation key id');
    const s = targetsSigned({
      version: 2,
      targets: [{ name: 'v1', bytes: Buffer.from('payload v1') }],
      delegations: {
        keys: [p.keys.delegation],
        roles: [{ name: 'targets/releases', keyids: ['0'.repeat(64)], paths: [''] }],
      },
    });
    const keys = (s.delegations as JsonObject).keys as Record<string, unknown>;
    keys['0'.repeat(64)] = keys[p.keys.delegation.publicKey.id];
    delete keys[p.keys.delegation.publicKey.id];
    await compare(
      'delegation key listed under another ID',
      p,
      uploadRoles(() => roleFiles(['targets', sign(s, [p.keys.targets])])),
      { notary: OK, countersign: invalidUpdate('ErrBadTargets') }
    );
  });
});

describe('versions near the cap', () => {
  it('2^30 is accepted and so is the next version; a jump past 2^30 is not', async () => {
    const p = await publishedPair(servers, 'version wedge');
    const at = (version: number) =>
      sign(
        targetsSigned({ version, targets: [{ name: 'v1', bytes: Buffer.from('payload v1') }] }),
        [p.keys.targets]
      );
    // The same bytes for both servers (signing is randomized).
    const [v30, v31, jump] = [at(2 ** 30), at(2 ** 30 + 1), at(2 ** 30 + 10)];
    await compare(
      'targets version 2^30',
      p,
      uploadRoles(() => roleFiles(['targets', v30])),
      {
        both: OK,
      }
    );
    // Before the fix every later upload was refused here: the repository was wedged.
    await compare(
      'targets version 2^30 + 1 after 2^30',
      p,
      uploadRoles(() => roleFiles(['targets', v31])),
      {
        both: OK,
      }
    );
    await compare(
      'targets version 2^30 + 10 after 2^30 + 1',
      p,
      uploadRoles(() => roleFiles(['targets', jump])),
      {
        notary: OK,
        countersign: invalidUpdate('ErrBadTargets'),
      }
    );
    assert.deepEqual(await cliList(p.countersign), ['v1']);
  });
});
