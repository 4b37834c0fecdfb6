/**
 * `countersign verify` (docs/client.md): the full notary client workflow against any Notary
 * server, then the reference resolved as docker resolves it — normalised as docker does
 * (src/client/reference.ts), the tag looked up in targets/releases then targets, a digest
 * checked against the tags that resolve to it. Exit statuses as `check` (trust-run.ts).
 */
import { fail } from '../errors.js';
import { formatReference } from '../client/reference.js';
import { bool, parseArgs, str } from './args.js';
import {
  EXIT,
  exitCodeOf,
  reasons,
  resultJSON,
  verifyImage,
  withInputErrors,
} from './trust-run.js';
import { VERIFY_FLAGS, VERIFY_HELP } from './client-usage.js';

export function verify(argv: readonly string[]): Promise<number> {
  return withInputErrors(() => verifyCommand(argv));
}

async function verifyCommand(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, VERIFY_FLAGS);
  if (bool(p, 'help')) {
    process.stdout.write(VERIFY_HELP);
    return EXIT.OK;
  }
  const output = str(p, 'output') ?? 'digest';
  if (output !== 'digest' && output !== 'ref')
    fail('USAGE', `--output is digest or ref, not ${JSON.stringify(output)}`);
  const { ref, setup, run } = await verifyImage(p, VERIFY_HELP);
  const code = exitCodeOf(run);
  const result = run.result;
  if (bool(p, 'json')) {
    const doc = {
      server: setup.server,
      reference: formatReference(ref),
      ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
      exitCode: code,
      ...resultJSON(result),
    };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return code;
  }
  if (code === EXIT.OK && result.target) {
    const t = result.target;
    if (output === 'ref') process.stdout.write(`${ref.name}@${t.digest}\n`);
    else if (ref.tag === undefined)
      process.stdout.write(`${t.digest} ${t.length} ${(result.tags ?? []).join(' ')}\n`);
    else process.stdout.write(`${t.digest} ${t.length}\n`);
  } else for (const line of reasons('verify', run)) process.stderr.write(`${line}\n`);
  return code;
}

/**
 * `GUN:TAG` as the store commands take it, split at the last colon after the last slash (GUNs
 * may contain host:port); not normalised, since store GUNs are written out in full.
 */
export function splitReference(ref: string): { gun: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon <= ref.lastIndexOf('/') || colon === 0 || colon === ref.length - 1)
    fail('USAGE', `${JSON.stringify(ref)} is not GUN:TAG`);
  return { gun: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
