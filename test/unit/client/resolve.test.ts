/** notary's WalkTargets order and docker's role rule, on hand-made loaded role sets. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDockerTarget, walkForTarget } from '../../../src/client/resolve.js';
import { isCountersignError } from '../../../src/errors.js';
import type { DelegatedRole, FileMeta, Targets } from '../../../src/tuf/metadata.js';
import { PublicKey } from '../../../src/crypto/keys.js';

const key = new PublicKey('ed25519', Buffer.alloc(32, 7).toString('base64'));
const meta = (byte: number): FileMeta => ({
  length: byte,
  hashes: { sha256: Buffer.alloc(32, byte).toString('base64') },
});

function targets(
  entries: Record<string, FileMeta>,
  roles: Omit<DelegatedRole, 'keyids' | 'threshold'>[] = []
): Targets {
  return {
    type: 'Targets',
    version: 1,
    expires: new Date(8.64e15),
    targets: new Map(Object.entries(entries)),
    delegations: {
      keys: new Map([[key.id, key]]),
      roles: roles.map((r) => ({ ...r, keyids: [key.id], threshold: 1 })),
    },
  };
}

describe('walkForTarget', () => {
  it('walks breadth-first: a sibling listed first beats a deeper child', () => {
    const loaded = new Map<string, Targets>([
      [
        'targets',
        targets({}, [
          { name: 'targets/a', paths: [''] },
          { name: 'targets/b', paths: [''] },
        ]),
      ],
      ['targets/a', targets({}, [{ name: 'targets/a/deep', paths: [''] }])],
      ['targets/a/deep', targets({ t: meta(1) })],
      ['targets/b', targets({ t: meta(2) })],
    ]);
    assert.equal(walkForTarget('t', loaded, 'targets', [])?.role, 'targets/b');
    assert.equal(walkForTarget('t', loaded, 'targets/a', [])?.role, 'targets/a/deep');
    assert.equal(walkForTarget('t', loaded, 'targets', ['targets/b'])?.role, 'targets/a/deep');
  });

  it('does not descend into a role that is not loaded (failed or expired)', () => {
    const loaded = new Map<string, Targets>([
      ['targets', targets({}, [{ name: 'targets/releases', paths: [''] }])],
    ]);
    assert.equal(walkForTarget('t', loaded, 'targets/releases', []), undefined);
  });
});

describe('resolveDockerTarget', () => {
  it('refuses a target without a sha256, which docker needs for the digest', () => {
    const loaded = new Map<string, Targets>([
      [
        'targets',
        targets({ v1: { length: 3, hashes: { sha512: Buffer.alloc(64).toString('base64') } } }),
      ],
    ]);
    assert.throws(
      () => resolveDockerTarget('v1', loaded),
      (e: unknown) => isCountersignError(e, 'TARGET_NOT_FOUND') && /no valid sha256/.test(e.message)
    );
  });

  it('turns the base64 sha256 into sha256:<hex>', () => {
    const loaded = new Map<string, Targets>([['targets', targets({ v1: meta(0xab) })]]);
    assert.deepEqual(resolveDockerTarget('v1', loaded), {
      name: 'v1',
      length: 0xab,
      hashes: meta(0xab).hashes,
      role: 'targets',
      digest: `sha256:${'ab'.repeat(32)}`,
    });
  });
});
