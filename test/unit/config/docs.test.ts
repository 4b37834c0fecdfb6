/** docs/config.md's key table is the one the schema generates (`node scripts/config-doc.mjs`). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  configKeysMarkdown,
  jsonSchema,
  TABLE_END,
  TABLE_START,
} from '../../../src/config/schema-doc.js';
import { repoRoot } from '../../helpers/paths.js';

describe('docs/config.md', () => {
  it('holds exactly the key table generated from the schema', () => {
    const text = readFileSync(`${repoRoot}/docs/config.md`, 'utf8');
    const start = text.indexOf(TABLE_START);
    const end = text.indexOf(TABLE_END);
    assert.ok(start >= 0 && end > start, 'the config-keys markers are missing');
    assert.equal(text.slice(start, end + TABLE_END.length), configKeysMarkdown());
  });

  it('names every key of the countersign section, so none is undocumented', () => {
    const table = configKeysMarkdown();
    for (const key of [
      'countersign.store.approvals',
      'countersign.scheduler.intervalMs',
      'storage.db_url',
    ])
      assert.ok(table.includes(`| \`${key}\` |`), key);
  });

  it('gives editors a JSON Schema: the countersign section closed, notary-server sections open', () => {
    type S = {
      properties: Record<string, S>;
      additionalProperties: unknown;
      minimum?: number;
      maximum?: number;
      type?: unknown;
    };
    const schema = jsonSchema() as unknown as S;
    const cs = schema.properties.countersign as S;
    assert.equal(cs.additionalProperties, false);
    assert.equal((cs.properties.store as S).additionalProperties, false);
    assert.equal((schema.properties.server as S).additionalProperties, true);
    const approvals = (cs.properties.store as S).properties.approvals as S;
    assert.deepEqual([approvals.type, approvals.minimum, approvals.maximum], ['integer', 1, 100]);
  });
});
