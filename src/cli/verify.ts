/**
 * `countersign verify` (docs/interfaces.md "Checking and verifying"): the full notary client workflow
 * against any Notary server, then the tag resolved as docker resolves it (targets/releases, then
 * targets). Prints `sha256:<digest> <size>`; exit statuses as `check` (src/cli/check.ts).
 */
import { fail } from '../errors.js';
import { HttpMetadataSource, verifyRepository, type TrustAnchor } from '../client/index.js';
import { systemClock } from '../util/clock.js';
import { bool, parseArgs, str } from './args.js';
import {
  EXIT,
  EXIT_CODES_HELP,
  exitCodeOf,
  readArgFile,
  required,
  resultJSON,
  writeReasons,
} from './check.js';

const HELP = `Usage: countersign verify --server URL [--ca FILE] [--pin-ca FILE | --pin-root FILE] GUN:TAG [--json]

Runs the notary client's update against any Notary server (root chain from version 1 or from
the pinned root, timestamp, snapshot, targets, delegations, each by hash, signature and expiry)
and resolves TAG as docker does: targets/releases first, then targets; a tag signed only by
another delegation is refused. Prints "sha256:<digest> <size>".

GUN:TAG is split at the last colon after the last slash, so GUNs may hold host:port
(127.0.0.1:5000/acme/app:1.0).

Options:
  --server URL     the Notary server (https://host:port or http://…)
  --ca FILE        PEM CA certificate(s) for the server's TLS certificate
  --pin-ca FILE    trust_pinning.ca: the root certificate must chain to this CA (CN = GUN,
                   extended key usage absent or including serverAuth)
  --pin-root FILE  a root.json to trust instead of the server's version 1
  --json           print one JSON object instead of text

${EXIT_CODES_HELP}`;

export async function verify(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, {
    server: 'string',
    ca: 'string',
    'pin-ca': 'string',
    'pin-root': 'string',
    json: 'boolean',
    help: 'boolean',
  });
  if (bool(p, 'help')) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }
  const server = required(str(p, 'server'), '--server', HELP);
  if (p.positionals.length !== 1) fail('USAGE', `expected exactly one GUN:TAG\n\n${HELP}`);
  const { gun, tag } = splitReference(p.positionals[0] as string);
  const pinCa = str(p, 'pin-ca');
  const pinRoot = str(p, 'pin-root');
  if (pinCa !== undefined && pinRoot !== undefined)
    fail('USAGE', '--pin-ca and --pin-root exclude each other');
  const trust: TrustAnchor =
    pinCa !== undefined
      ? { kind: 'ca', pem: readArgFile(pinCa, '--pin-ca').toString('latin1') }
      : pinRoot !== undefined
        ? { kind: 'root', root: readArgFile(pinRoot, '--pin-root') }
        : { kind: 'tofu' };
  const source = new HttpMetadataSource({ server, caFile: str(p, 'ca') });
  const result = await verifyRepository({ source, gun, clock: systemClock, trust, target: tag });
  const code = exitCodeOf(result);
  if (bool(p, 'json')) {
    process.stdout.write(
      JSON.stringify({ server, tag, exitCode: code, ...resultJSON(result) }, null, 2) + '\n'
    );
    return code;
  }
  if (code === EXIT.OK && result.target)
    process.stdout.write(`${result.target.digest} ${result.target.length}\n`);
  else writeReasons('verify', result);
  return code;
}

/** `GUN:TAG`, split at the last colon after the last slash (GUNs may contain host:port). */
export function splitReference(ref: string): { gun: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon <= ref.lastIndexOf('/') || colon === 0 || colon === ref.length - 1)
    fail('USAGE', `${JSON.stringify(ref)} is not GUN:TAG`);
  return { gun: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
