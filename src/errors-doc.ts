/** docs/errors.md, generated from the catalogue in src/errors.ts (`node scripts/errors-doc.mjs`). */
import { INTERNAL_CODES, NOTARY_CODES, RESERVED_CODES, STORE_CODES } from './errors.js';

export function errorsMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/errors.ts` by `node scripts/errors-doc.mjs`; `test/unit/errors.test.ts` fails when they differ.',
    '',
    '## Notary API',
    '',
    'Body: `{"errors":[{"code","message","detail"}]}` (notary-server\'s errcode envelope). Codes marked * are Countersign\'s own.',
    '',
    '| code | HTTP | message |',
    '|---|---|---|',
    ...Object.entries(NOTARY_CODES).map(
      ([code, v]) => `| \`${code}\`${OWN.has(code) ? ' *' : ''} | ${v.status} | ${v.message} |`
    ),
    '',
    '## Store API',
    '',
    'Body: `{"error":{"code","message"}}`.',
    '',
    '| code | HTTP | message |',
    '|---|---|---|',
    ...Object.entries(STORE_CODES).map(
      ([code, v]) => `| \`${code}\` | ${v.status} | ${v.message} |`
    ),
    '',
    '## Inside the server and the CLI',
    '',
    "These never reach a client as such: the HTTP layer maps them (a failed validation becomes `INVALID_UPDATE` with notary's error name, a storage version conflict `VERSION`, …), and the CLI turns them into messages and exit codes.",
    '',
    '| code | meaning |',
    '|---|---|',
    ...Object.entries(INTERNAL_CODES).map(([code, v]) => `| \`${code}\` | ${v} |`),
    '',
    '## Causes',
    '',
    "An error keeps the error it stands for as its `cause`: an upload refused with `INVALID_UPDATE` carries the TUF core's finer code (`META_THRESHOLD`, `CERT_INVALID`, …) and message, and the request log's `error` field shows the whole chain (`INVALID_UPDATE: … ← META_THRESHOLD: …`). Causes are logged, never sent to clients.",
    '',
    '## Reserved',
    '',
    'Codes nothing raises today, kept on purpose:',
    '',
    '| code | why |',
    '|---|---|',
    ...Object.entries(RESERVED_CODES).map(([code, why]) => `| \`${code}\` | ${why} |`),
    '',
  ];
  return lines.join('\n');
}

/** Codes notary-server does not have. */
const OWN = new Set(['TOO_LARGE', 'INVALID_NAME']);
