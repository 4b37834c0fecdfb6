/**
 * The building blocks a root renewal uses (the freshness scheduler renews public roots before
 * `rootLifetime` runs out): a new certificate for the same root key from the store CA
 * (Signer.issueCertificate), and root version 2 built by buildPublicRoot signed under the old and
 * the new certificate key IDs — which a client holding version 1 accepts (root rotation rule:
 * the previous root's threshold and its own), as does a client pinned to the store CA.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyRepository } from '../../src/client/index.js';
import { StoreMetadataSource } from '../../src/store/store-source.js';
import { loadCurrent } from '../../src/notary/current.js';
import {
  buildServerSnapshot,
  buildServerTimestamp,
  snapshotMetaJSON,
} from '../../src/notary/server-signing.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { goCertificatePem } from '../../src/store/ca.js';
import { buildPublicRoot, rootCertificateKey } from '../../src/store/public-metadata.js';
import { parseRoot } from '../../src/tuf/metadata.js';
import { image, StagingRepo, startStore, type StoreApp } from './fixture.js';
import { ParsedMetadata } from '../../src/notary/parsed.js';

const DAY = 86_400_000;

describe('public root renewal building blocks', () => {
  let s: StoreApp;
  const PUBLIC = 'store.test/acme/renew';

  before(async () => {
    s = await startStore();
    const repo = await StagingRepo.create(s.app.storage, 'staging.store.test/acme/renew');
    await repo.push({ releases: [image('1.0', 'n')] });
    const sub = await s.http
      .post('/api/v1/submissions')
      .set('Authorization', s.auth('acme'))
      .send({ gun: 'staging.store.test/acme/renew', tag: '1.0' })
      .expect(201);
    await s.http
      .post(`/api/v1/submissions/${sub.body.id}/reviews`)
      .set('Authorization', s.auth('rev1'))
      .send({ decision: 'approve' })
      .expect(200);
  });
  after(() => s.close());

  it('root version 2 with a renewed certificate chains from version 1 and to the store CA', async () => {
    const { storage, signer } = s.app;
    const store = s.app.store!;
    s.clock.advance(200 * DAY);
    const now = s.clock.now();
    const repo = (await storage.storeRepositories.get(PUBLIC))!;
    const ca = await store.ca.get();
    const renewed = goCertificatePem(
      await signer.issueCertificate(
        ca.keyId,
        repo.rootKeyId,
        {
          commonName: PUBLIC,
          notBefore: new Date(now.getTime() - 3_600_000),
          notAfter: new Date(now.getTime() + 365 * DAY),
          isCA: false,
          keyUsage: ['digitalSignature'],
        },
        ca.certificate
      )
    );
    assert.notEqual(renewed, repo.rootCertificate);
    await storage.storeRepositories.setRootCertificate(PUBLIC, renewed, now);
    const next = { ...repo, rootCertificate: renewed };
    await storage.transaction(
      async (tx) => {
        const state = (await loadCurrent(tx.meta, PUBLIC, new ParsedMetadata()))!;
        const rootData = await buildPublicRoot(
          tx,
          signer,
          next,
          2,
          new Date(now.getTime() + 365 * DAY),
          [rootCertificateKey(repo).id]
        );
        const root = parseRoot(rootData).signed;
        const snapshot = (await buildServerSnapshot({
          signer,
          root,
          previous: {
            version: state.snapshotFile.signed.version,
            meta: snapshotMetaJSON(state.snapshotFile),
          },
          updated: new Map([['root', rootData]]),
          now,
          lifetimeMs: 1095 * DAY,
        }))!;
        const timestamp = (await buildServerTimestamp({
          signer,
          root,
          previousVersion: state.timestamp.version,
          snapshot: snapshot.data,
          now,
          lifetimeMs: 14 * DAY,
        }))!;
        await tx.meta.updateMany(
          PUBLIC,
          [
            { role: 'root', version: 2, data: rootData, sha256: sha256Hex(rootData) },
            {
              role: 'snapshot',
              version: snapshot.version,
              data: snapshot.data,
              sha256: snapshot.sha256,
            },
            {
              role: 'timestamp',
              version: timestamp.version,
              data: timestamp.data,
              sha256: timestamp.sha256,
            },
          ],
          now
        );
      },
      { lockGun: PUBLIC }
    );
    const rootV2 = parseRoot((await storage.meta.getByVersion(PUBLIC, 'root', 2))!.data);
    assert.deepEqual(
      rootV2.signatures.map((x) => x.keyid).sort(),
      [rootCertificateKey(repo).id, rootCertificateKey(next).id].sort()
    );
    for (const trust of [{ kind: 'tofu' as const }, { kind: 'ca' as const, pem: ca.certificate }]) {
      const result = await verifyRepository({
        source: new StoreMetadataSource(storage.meta, new ParsedMetadata()),
        gun: PUBLIC,
        clock: s.clock,
        trust,
        target: '1.0',
      });
      assert.equal(result.ok, true, JSON.stringify(result.failures));
      assert.match(result.checks[0]!.detail, /root versions 1→2/);
    }
  });
});
