#!/usr/bin/env node
// Rewrites the key table of docs/config.md from the schema (run `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { configKeysMarkdown, TABLE_END, TABLE_START } from '../dist/src/config/schema-doc.js';

const file = new URL('../docs/config.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const start = text.indexOf(TABLE_START);
const end = text.indexOf(TABLE_END);
if (start < 0 || end < start) throw new Error('docs/config.md has no config-keys markers');
writeFileSync(
  file,
  text.slice(0, start) + configKeysMarkdown() + text.slice(end + TABLE_END.length)
);
