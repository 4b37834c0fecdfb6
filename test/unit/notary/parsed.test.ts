import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ParsedMetadata } from '../../../src/notary/parsed.js';
import { parseTimestamp } from '../../../src/tuf/metadata.js';
import type { StoredMeta } from '../../../src/storage/types.js';
import { fixturePath } from '../../helpers/paths.js';

const metadata = (file: string) => fixturePath('notary/root-rotation/metadata', file);
const row = (role: 'root' | 'timestamp', data: Buffer): StoredMeta => ({
  gun: 'example.com/parsed',
  role,
  version: 1,
  sha256: createHash('sha256').update(data).digest('hex'),
  data,
  createdAt: new Date(0),
});

describe('parsed stored files', () => {
  it('parses a stored file once and hands out the same read-only copy after that', () => {
    const parsed = new ParsedMetadata();
    const data = readFileSync(metadata('timestamp.v4.json'));
    const first = parsed.timestamp(row('timestamp', data));
    assert.deepEqual(first.signed, parseTimestamp(data).signed);
    // Another row with the same bytes (read again, another buffer) gets the same object.
    assert.equal(parsed.timestamp(row('timestamp', Buffer.from(data))), first);
    const other = parsed.timestamp(row('timestamp', readFileSync(metadata('timestamp.v5.json'))));
    assert.notEqual(other, first);
    assert.equal(other.signed.version, first.signed.version + 1);
    assert.equal(parsed.size, 2);
  });

  it('never remembers a failure: bytes that do not parse fail every time', () => {
    const parsed = new ParsedMetadata();
    const bad = row('root', Buffer.from('{"signed":{"_type":"Root"},"signatures":[]}'));
    assert.throws(() => parsed.root(bad));
    assert.throws(() => parsed.root(bad));
    assert.equal(parsed.size, 0);
  });

  it('keys by kind too: timestamp bytes are not a root', () => {
    const parsed = new ParsedMetadata();
    const data = readFileSync(metadata('timestamp.v3.json'));
    parsed.timestamp(row('timestamp', data));
    assert.throws(() => parsed.root(row('root', data)));
  });

  it('holds at most its bound per kind', () => {
    const parsed = new ParsedMetadata(2);
    const files = ['timestamp.v3.json', 'timestamp.v4.json', 'timestamp.v5.json'].map((f) =>
      row('timestamp', readFileSync(metadata(f)))
    );
    const copies = files.map((r) => parsed.timestamp(r));
    assert.equal(parsed.size, 2);
    // The oldest went: its next read is a new parse, the newest is still the same copy.
    assert.notEqual(parsed.timestamp(files[0]!), copies[0]);
    assert.equal(parsed.timestamp(files[2]!), copies[2]);
  });

  it('two caches share nothing', () => {
    const a = new ParsedMetadata();
    const b = new ParsedMetadata();
    const r = row('timestamp', readFileSync(metadata('timestamp.v4.json')));
    const fromA = a.timestamp(r);
    assert.equal(b.size, 0);
    assert.notEqual(b.timestamp(r), fromA);
  });
});
