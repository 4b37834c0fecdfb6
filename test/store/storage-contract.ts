/**
 * The store's tables (src/storage/types.ts "The store": submissions, store repositories, audit
 * log) as one assertion suite, run against SQLite and PostgreSQL (storage.test.ts).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCountersignError } from '../../src/errors.js';
import { GENESIS_HASH, auditEntryHash } from '../../src/storage/audit-chain.js';
import type { Storage, StoreRepository, StoredSubmission } from '../../src/storage/types.js';
import { verifyAuditChain } from '../../src/store/audit.js';

const T0 = new Date('2026-05-06T07:08:09.123Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

const submission = (id: string, extra: Partial<StoredSubmission> = {}): StoredSubmission => ({
  id,
  gun: 'staging.store.test/acme/web',
  publicGun: 'store.test/acme/web',
  tag: '1.0',
  state: 'submitted',
  submitter: 'acme',
  createdAt: T0,
  updatedAt: T0,
  revision: 1,
  details: { reviews: [], note: 'ünïcödé "quoted"', n: 3 },
  ...extra,
});

const repository = (gun: string, rootKeyId: string): StoreRepository => ({
  publicGun: gun,
  rootKeyId,
  rootCertificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  targetsKeyId: `${rootKeyId}-targets`,
  snapshotKeyId: `${rootKeyId}-snapshot`,
  timestampKeyId: `${rootKeyId}-timestamp`,
  createdAt: T0,
  updatedAt: T0,
});

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err) => isCountersignError(err) && err.code === code);
}

export function storeTablesContract(
  backend: string,
  factory: () => Promise<Storage>,
  /** A second Storage on the same database (another instance), for the concurrency test. */
  sibling?: (s: Storage) => Promise<Storage>
): void {
  describe(`store tables (${backend})`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await factory();
    });
    afterEach(() => s.close());

    it('submissions: insert, get exactly as stored, list by filter oldest first, duplicate ids refused', async () => {
      await s.submissions.insert(
        submission('b-second', { createdAt: at(2), updatedAt: at(2), tag: '2.0' })
      );
      await s.submissions.insert(submission('a-first', { createdAt: at(1), updatedAt: at(1) }));
      await s.submissions.insert(
        submission('c-other', {
          createdAt: at(3),
          updatedAt: at(3),
          gun: 'staging.store.test/other/x',
          publicGun: 'store.test/other/x',
          state: 'verified',
        })
      );
      assert.deepEqual(
        await s.submissions.get('a-first'),
        submission('a-first', { createdAt: at(1), updatedAt: at(1) })
      );
      assert.equal(await s.submissions.get('missing'), null);
      await rejectsWith(s.submissions.insert(submission('a-first')), 'STORAGE_CONFLICT');
      const ids = async (f?: Parameters<Storage['submissions']['list']>[0]) =>
        (await s.submissions.list(f)).map((x) => x.id);
      assert.deepEqual(await ids(), ['a-first', 'b-second', 'c-other']);
      assert.deepEqual(await ids({ gun: 'staging.store.test/acme/web' }), ['a-first', 'b-second']);
      assert.deepEqual(await ids({ state: 'verified' }), ['c-other']);
      assert.deepEqual(await ids({ publicGun: 'store.test/acme/web', tag: '2.0' }), ['b-second']);
      assert.deepEqual(await ids({ limit: 1 }), ['a-first']);
      assert.deepEqual(
        await ids({ gun: 'staging.store.test/acme' }),
        [],
        'a GUN prefix is not a match'
      );
    });

    it('submissions: update checks the revision (optimistic concurrency) and replaces state and details', async () => {
      await s.submissions.insert(submission('sub-1'));
      const updated = await s.submissions.update('sub-1', 1, {
        state: 'verified',
        updatedAt: at(5),
        details: { reviews: [{ reviewer: 'rev1' }] },
      });
      assert.deepEqual(updated, {
        ...submission('sub-1'),
        state: 'verified',
        updatedAt: at(5),
        revision: 2,
        details: { reviews: [{ reviewer: 'rev1' }] },
      });
      assert.deepEqual(await s.submissions.get('sub-1'), updated);
      await rejectsWith(
        s.submissions.update('sub-1', 1, { state: 'approved', updatedAt: at(6), details: {} }),
        'STORAGE_CONFLICT'
      );
      assert.equal((await s.submissions.get('sub-1'))?.state, 'verified');
      await rejectsWith(
        s.submissions.update('nope', 1, { state: 'approved', updatedAt: at(6), details: {} }),
        'STORAGE_NOT_FOUND'
      );
    });

    it('submissions: a rolled-back transaction leaves nothing; a committed one everything', async () => {
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.submissions.insert(submission('rolled-back'));
          await tx.audit.append({
            at: T0,
            actor: 'acme',
            action: 'submission.created',
            subject: 'x',
            details: {},
          });
          throw new Error('abort');
        }),
        /abort/
      );
      assert.equal(await s.submissions.get('rolled-back'), null);
      assert.deepEqual(await s.audit.list(), []);
      await s.transaction(
        async (tx) => {
          await tx.submissions.insert(submission('kept'));
          const inside = await tx.submissions.update('kept', 1, {
            state: 'verified',
            updatedAt: at(1),
            details: {},
          });
          assert.equal(inside.revision, 2);
          await tx.audit.append({
            at: T0,
            actor: 'acme',
            action: 'submission.created',
            subject: 'x',
            details: {},
          });
        },
        { lockGun: 'staging.store.test/acme/web' }
      );
      assert.equal((await s.submissions.get('kept'))?.revision, 2);
      assert.equal(
        (await s.audit.list())[0]?.id,
        1,
        'the id of the rolled-back entry is used again: no gap'
      );
    });

    it('store repositories: the first insert wins, later ones get it back; the root certificate can be renewed', async () => {
      const first = repository('store.test/acme/web', 'k1');
      assert.deepEqual(await s.storeRepositories.insertIfAbsent(first), first);
      assert.deepEqual(
        await s.storeRepositories.insertIfAbsent(repository('store.test/acme/web', 'k2')),
        first
      );
      await s.storeRepositories.insertIfAbsent(repository('store.test/acme/api', 'k3'));
      assert.deepEqual(
        (await s.storeRepositories.list()).map((r) => r.publicGun),
        ['store.test/acme/api', 'store.test/acme/web']
      );
      assert.equal(await s.storeRepositories.get('store.test/acme'), null);
      await s.storeRepositories.setRootCertificate('store.test/acme/web', 'NEW PEM', at(9));
      assert.deepEqual(await s.storeRepositories.get('store.test/acme/web'), {
        ...first,
        rootCertificate: 'NEW PEM',
        updatedAt: at(9),
      });
      await s.storeRepositories.setRootCertificate(
        'store.test/acme/web',
        'NEWER PEM',
        at(10),
        'k9'
      );
      assert.deepEqual(await s.storeRepositories.get('store.test/acme/web'), {
        ...first,
        rootKeyId: 'k9',
        rootCertificate: 'NEWER PEM',
        updatedAt: at(10),
      });
      await rejectsWith(
        s.storeRepositories.setRootCertificate('store.test/none', 'x', at(9)),
        'STORAGE_NOT_FOUND'
      );
    });

    it('audit: appends number entries 1, 2, 3 and chain each to the one before', async () => {
      const a = await s.audit.append({
        at: at(1),
        actor: 'acme',
        action: 'submission.created',
        subject: 'staging.store.test/acme/web:1.0',
        details: { submission: 's1', gun: 'staging.store.test/acme/web' },
      });
      const b = await s.audit.append({
        at: at(2),
        actor: 'rev1',
        action: 'submission.reviewed',
        subject: 'staging.store.test/acme/web:1.0',
        details: { note: 'ok', nested: { list: [1, 2] } },
      });
      const c = await s.audit.append({
        at: at(3),
        actor: 'countersign',
        action: 'key.created',
        subject: 'store.test/acme/web',
        details: { publicGun: 'store.test/acme/web' },
      });
      assert.deepEqual([a.id, b.id, c.id], [1, 2, 3]);
      assert.equal(a.prevHash, GENESIS_HASH);
      assert.equal(b.prevHash, a.hash);
      assert.equal(c.prevHash, b.hash);
      assert.equal(b.hash, auditEntryHash(2, b, a.hash));
      assert.deepEqual(await s.audit.list(), [a, b, c]);
      assert.deepEqual(await verifyAuditChain(s.audit), {
        ok: true,
        entries: 3,
        firstBroken: null,
      });
      assert.deepEqual(
        await verifyAuditChain(s.audit, 2),
        { ok: true, entries: 3, firstBroken: null },
        'paging'
      );
    });

    it('audit: list by GUN (subject or details), since, after and limit', async () => {
      const e = async (seconds: number, subject: string, details: Record<string, unknown>) =>
        (
          await s.audit.append({
            at: at(seconds),
            actor: 'x',
            action: 'submission.created',
            subject,
            details,
          })
        ).id;
      const staging = await e(1, 'staging.store.test/acme/web:1.0', {
        gun: 'staging.store.test/acme/web',
        publicGun: 'store.test/acme/web',
      });
      const pub = await e(2, 'store.test/acme/web', {});
      const tag = await e(3, 'store.test/acme/web:2.0', {});
      await e(4, 'store.test/acme/web2', {});
      await e(5, 'store-ca', {});
      const ids = async (f: Parameters<Storage['audit']['list']>[0]) =>
        (await s.audit.list(f)).map((x) => x.id);
      assert.deepEqual(await ids({ gun: 'store.test/acme/web' }), [staging, pub, tag]);
      assert.deepEqual(await ids({ gun: 'staging.store.test/acme/web' }), [staging]);
      assert.deepEqual(await ids({ since: at(4) }), [4, 5]);
      assert.deepEqual(await ids({ afterId: 2, limit: 2 }), [3, 4]);
    });

    it('audit: a row that is no longer JSON still lists, and the chain names it', async () => {
      await s.audit.append({
        at: at(1),
        actor: 'x',
        action: 'key.created',
        subject: 'store.test/a',
        details: { publicGun: 'store.test/a' },
      });
      // What a tampered database would hold: the stores never write this.
      await tamper(s, 1);
      const [row] = await s.audit.list({ gun: 'store.test/a' });
      assert.deepEqual(row?.details, { unreadable: 'not json' });
      assert.deepEqual(await verifyAuditChain(s.audit), {
        ok: false,
        entries: 1,
        firstBroken: 1,
        reason: 'entry 1 was changed after it was written (its hash does not match its content)',
      });
    });

    it('audit: details canonical JSON cannot encode are refused, nothing appended', async () => {
      await rejectsWith(
        s.audit.append({
          at: T0,
          actor: 'x',
          action: 'key.created',
          subject: 'y',
          details: { ratio: 1.5 },
        }),
        'CANONICAL_UNSUPPORTED'
      );
      assert.deepEqual(await s.audit.list(), []);
    });

    it('audit: concurrent appends (and instances) never fork the chain', async () => {
      const other = sibling ? await sibling(s) : s;
      try {
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 === 0 ? s : other).audit.append({
              at: at(i),
              actor: `a${i}`,
              action: 'key.created',
              subject: 'store-ca',
              details: { i },
            })
          )
        );
        const all = await s.audit.list();
        assert.deepEqual(
          all.map((e) => e.id),
          Array.from({ length: 40 }, (_, i) => i + 1)
        );
        assert.deepEqual(await verifyAuditChain(s.audit), {
          ok: true,
          entries: 40,
          firstBroken: null,
        });
      } finally {
        if (other !== s) await other.close();
      }
    });
  });
}

/** Overwrites entry `id`'s details behind the stores' back (each backend's test provides it). */
let tamper: (s: Storage, id: number) => Promise<void> = async () => {
  throw new Error('no tamper function set');
};

export function setTamper(fn: (s: Storage, id: number) => Promise<void>): void {
  tamper = fn;
}
