/**
 * The state file format (src/client/state.ts): a round trip, versions that never go down when two
 * runs' states are merged, the root with the higher version winning, and every way a file can be
 * corrupt or someone else's refused with a precise STATE_INVALID, never read as empty.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_STATE,
  keptRoot,
  mergeRepository,
  normalizeServer,
  parseState,
  serializeState,
  type RepositoryState,
} from '../../../src/client/state.js';
import { isCountersignError } from '../../../src/errors.js';

const SERVER = 'https://notary.example:4443';

function entry(
  gun: string,
  rootVersion: number,
  versions: Record<string, number>
): RepositoryState {
  return {
    server: SERVER,
    gun,
    root: keptRoot(Buffer.from(`{"root":${rootVersion}}`), rootVersion),
    versions,
    updated: '2026-01-01T00:00:00.000Z',
  };
}

function refused(text: string, why: RegExp): void {
  assert.throws(
    () => parseState(text, 'state.json'),
    (err: unknown) => isCountersignError(err, 'STATE_INVALID') && why.test(err.message)
  );
}

describe('client state file format', () => {
  it('round-trips through its text, root bytes included', () => {
    const state = mergeRepository(EMPTY_STATE, entry('a/b', 2, { root: 2, timestamp: 7 })).state;
    const text = serializeState(state);
    const back = parseState(text, 'state.json');
    assert.deepEqual(back, state);
    const doc = JSON.parse(text);
    assert.equal(doc.format, 'countersign-trust-state');
    assert.equal(doc.formatVersion, 1);
  });

  it('merging never lowers a version, and the higher root wins', () => {
    let s = mergeRepository(EMPTY_STATE, entry('a/b', 2, { timestamp: 9, snapshot: 3 })).state;
    s = mergeRepository(s, entry('a/b', 1, { timestamp: 8, snapshot: 4, targets: 2 })).state;
    const [only] = s.repositories;
    assert.deepEqual(only!.versions, { timestamp: 9, snapshot: 4, targets: 2 });
    assert.equal(only!.root.version, 2);
    s = mergeRepository(s, entry('a/b', 3, {})).state;
    assert.equal(s.repositories[0]!.root.version, 3);
  });

  it('keeps the first of two different roots with one version, and says so', () => {
    const s = mergeRepository(EMPTY_STATE, entry('a/b', 2, {})).state;
    const other: RepositoryState = {
      ...entry('a/b', 2, {}),
      root: keptRoot(Buffer.from('other'), 2),
    };
    const merged = mergeRepository(s, other);
    assert.equal(merged.state.repositories[0]!.root.sha256, s.repositories[0]!.root.sha256);
    assert.match(merged.conflict ?? '', /another run kept a different root version 2/);
  });

  it('keys entries by server and GUN, sorted', () => {
    let s = mergeRepository(EMPTY_STATE, entry('z/z', 1, {})).state;
    s = mergeRepository(s, entry('a/a', 1, {})).state;
    s = mergeRepository(s, { ...entry('a/a', 1, {}), server: 'http://other:1' }).state;
    assert.deepEqual(
      s.repositories.map((r) => `${r.server} ${r.gun}`),
      ['http://other:1 a/a', `${SERVER} a/a`, `${SERVER} z/z`]
    );
    assert.equal(normalizeServer('HTTPS://Notary.Example:4443/'), 'https://notary.example:4443');
  });

  it('refuses corrupt and foreign files with the reason', () => {
    const good = JSON.parse(
      serializeState(mergeRepository(EMPTY_STATE, entry('a/b', 1, { timestamp: 1 })).state)
    );
    const variant = (f: (d: typeof good) => void) => {
      const d = structuredClone(good);
      f(d);
      return JSON.stringify(d);
    };
    refused('', /not JSON/);
    refused('{"format":"countersign-trust-state"', /not JSON/);
    refused('[]', /not a JSON object/);
    refused('{"auths":{}}', /"format" is undefined.*not a Countersign state file/);
    refused(
      variant((d) => (d.formatVersion = 2)),
      /formatVersion 2 is not supported/
    );
    refused(
      variant((d) => (d.repositories = {})),
      /"repositories" is not a list/
    );
    refused(
      variant((d) => (d.repositories[0].versions.timestamp = 0)),
      /timestamp must be a positive integer/
    );
    refused(
      variant((d) => (d.repositories[0].versions.timestamp = '3')),
      /timestamp must be a positive integer/
    );
    refused(
      variant((d) => (d.repositories[0].root.bytes = Buffer.from('x').toString('base64'))),
      /does not match its sha256/
    );
    refused(
      variant((d) => {
        delete d.repositories[0].root;
      }),
      /"root" must hold/
    );
    refused(
      variant((d) => {
        d.repositories.push(d.repositories[0]);
      }),
      /listed twice/
    );
  });
});
