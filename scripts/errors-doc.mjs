#!/usr/bin/env node
// Writes docs/errors.md from the error catalogue (run `npm run build` first).
import { writeFileSync } from 'node:fs';
import { errorsMarkdown } from '../dist/src/errors-doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), errorsMarkdown());
