import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { storedRoot, storedTimestamp } from '../../../src/notary/parsed.js';
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
    const data = readFileSync(metadata('timestamp.v4.json'));
    const first = storedTimestamp(row('timestamp', data));
    assert.deepEqual(first.signed, parseTimestamp(data).signed);
    // Another row with the same bytes (read again, another buffer) gets the same object.
    assert.equal(storedTimestamp(row('timestamp', Buffer.from(data))), first);
    const other = storedTimestamp(row('timestamp', readFileSync(metadata('timestamp.v5.json'))));
    assert.notEqual(other, first);
    assert.equal(other.signed.version, first.signed.version + 1);
  });

  it('never remembers a failure: bytes that do not parse fail every time', () => {
    const bad = row('root', Buffer.from('{"signed":{"_type":"Root"},"signatures":[]}'));
    assert.throws(() => storedRoot(bad));
    assert.throws(() => storedRoot(bad));
  });

  it('keys by kind too: timestamp bytes are not a root', () => {
    const data = readFileSync(metadata('timestamp.v3.json'));
    storedTimestamp(row('timestamp', data));
    assert.throws(() => storedRoot(row('root', data)));
  });
});
