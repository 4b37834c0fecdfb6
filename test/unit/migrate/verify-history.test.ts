/**
 * The checks a history passes before `import-notary` writes it (src/migrate/verify-history.ts),
 * on repositories built here: a clean history with a root rotation verifies; each kind of
 * damage is named with the role and version it is found in.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { verifyHistory } from '../../../src/migrate/verify-history.js';
import type { ImportFile } from '../../../src/migrate/plan.js';
import {
  plainKey,
  rootSigned,
  sign,
  snapshotSignedFor,
  targetsSigned,
  timestampSignedFor,
  x509Key,
  type TestKey,
} from '../../helpers/tuf-builder.js';

const GUN = 'example.com/acme/moved';
const AT = new Date('2026-01-01T00:00:00Z');

const file = (role: string, version: number, data: Buffer): ImportFile => ({
  role,
  version,
  sha256: createHash('sha256').update(data).digest('hex'),
  data,
  createdAt: AT,
});

describe('verifyHistory', () => {
  let oldRoot: TestKey;
  let newRoot: TestKey;
  const targetsKey = plainKey();
  const snapshotKey = plainKey();
  const timestampKey = plainKey();
  let roots: Buffer[];
  let targets: Buffer;

  const rootOf = (version: number, keys: TestKey[], signers: TestKey[]): Buffer =>
    sign(
      rootSigned({
        root: keys,
        targets: [targetsKey],
        snapshot: [snapshotKey],
        timestamp: [timestampKey],
        version,
      }),
      signers
    );

  /** Snapshot and timestamp over `root` and `targets`, signed by `by` (default: the right keys). */
  const tail = (
    root: Buffer,
    t: Buffer,
    by = { snapshot: snapshotKey, timestamp: timestampKey }
  ) => {
    const snapshot = sign(
      snapshotSignedFor(
        new Map([
          ['root', root],
          ['targets', t],
        ])
      ),
      [by.snapshot]
    );
    const timestamp = sign(timestampSignedFor(snapshot), [by.timestamp]);
    return [file('snapshot', 1, snapshot), file('timestamp', 1, timestamp)];
  };

  before(async () => {
    oldRoot = await x509Key(GUN);
    newRoot = await x509Key(GUN);
    roots = [
      rootOf(1, [oldRoot], [oldRoot]),
      rootOf(2, [newRoot], [oldRoot, newRoot]),
      rootOf(3, [newRoot], [newRoot]),
    ];
    targets = sign(targetsSigned({ targets: [{ name: 'v1', bytes: Buffer.from('one') }] }), [
      targetsKey,
    ]);
  });

  const history = (): ImportFile[] => [
    ...roots.map((r, i) => file('root', i + 1, r)),
    file('targets', 1, targets),
    ...tail(roots[2]!, targets),
  ];

  it('accepts a clean history with a root rotation', () => {
    assert.deepEqual(verifyHistory(GUN, history(), AT), []);
  });

  it('names a root the previous root did not sign', () => {
    const forged = rootOf(2, [newRoot], [newRoot]);
    const files = history().map((f) =>
      f.role === 'root' && f.version === 2 ? file('root', 2, forged) : f
    );
    const problems = verifyHistory(GUN, files, AT);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^root version 2: could not rotate trust/);
  });

  it('names a gap in the root versions', () => {
    const files = history().filter((f) => !(f.role === 'root' && f.version === 2));
    assert.ok(
      verifyHistory(GUN, files, AT).some((p) =>
        /root version 3 follows version 1: a version is missing/.test(p)
      )
    );
  });

  it('names bytes that do not hash to their stored sha256, and a version the file does not carry', () => {
    const files = history().map((f) =>
      f.role === 'targets'
        ? { ...f, sha256: '0'.repeat(64) }
        : f.role === 'snapshot'
          ? { ...f, version: 7 }
          : f
    );
    assert.deepEqual(verifyHistory(GUN, files, AT), [
      'targets version 1: its bytes do not hash to the sha256 stored beside them',
      'snapshot version 7: the file says version 1',
    ]);
  });

  it('names a timestamp and a snapshot signed by keys the root does not list', () => {
    const stranger = plainKey();
    const files = [
      ...history().filter((f) => f.role === 'root' || f.role === 'targets'),
      ...tail(roots[2]!, targets, { snapshot: stranger, timestamp: stranger }),
    ];
    const problems = verifyHistory(GUN, files, AT);
    assert.ok(
      problems.some((p) => /^timestamp version 1: valid signatures did not meet threshold/.test(p)),
      problems.join('\n')
    );
    assert.ok(
      problems.some((p) => /^snapshot version 1: valid signatures did not meet threshold/.test(p)),
      problems.join('\n')
    );
  });

  it('names a targets file the snapshot does not name, and a repository without a timestamp', () => {
    const other = sign(targetsSigned({ targets: [{ name: 'v2', bytes: Buffer.from('two') }] }), [
      targetsKey,
    ]);
    const files = history().map((f) => (f.role === 'targets' ? file('targets', 1, other) : f));
    assert.deepEqual(verifyHistory(GUN, files, AT), [
      'snapshot version 1 names a targets whose hash matches no stored version of targets',
    ]);
    const noTimestamp = history().filter((f) => f.role !== 'timestamp');
    assert.deepEqual(verifyHistory(GUN, noTimestamp, AT), [
      `${GUN} has no timestamp: nothing is published`,
    ]);
  });
});
