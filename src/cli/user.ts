/**
 * `countersign user add|list|remove|unlock` (docs/interfaces.md "Accounts"): accounts live in the server's
 * database, so the command opens the same storage `serve` would (`--config`, `--data-dir`) and
 * works while the server runs. Re-running `add` updates the account (role, namespaces, password)
 * and ends its refresh tokens.
 *
 *   echo -n PASSWORD | countersign user add NAME --role publisher --namespace staging.store.test/acme/ --password-stdin
 *
 * Without --password-stdin, on a terminal, the password is asked twice without echo; anywhere
 * else that is an error (a script must say where its password comes from). Passwords shorter
 * than `countersign.auth.minPasswordLength` (default 12) are refused. `unlock` clears the failed
 * login counters of an account (or of a client address) on every instance at once.
 */
import { isIP } from 'node:net';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { addressKey } from '../auth/rate-limit.js';
import { normalizeAddress } from '../util/ip-ranges.js';
import { isTerminal, promptNewPassword } from './password-prompt.js';
import { fail } from '../errors.js';
import { hashPassword, MAX_PASSWORD_BYTES } from '../auth/passwords.js';
import {
  accountNameProblem,
  isAccountRole,
  namespaceProblem,
  ACCOUNT_ROLES,
} from '../auth/principal.js';
import { openStorage } from '../storage/index.js';
import type { Storage } from '../storage/types.js';
import { Zones } from '../auth/zones.js';
import { systemClock } from '../util/clock.js';
import { bool, list, parseArgs, str } from './args.js';

const FLAGS = {
  config: 'string',
  'data-dir': 'string',
  role: 'string',
  namespace: 'list',
  'password-stdin': 'boolean',
  json: 'boolean',
  address: 'string',
} as const;

export const USER_USAGE = `Usage:
  echo -n PASSWORD | countersign user add NAME --role publisher|reviewer|admin \\
        [--namespace GUN_PREFIX ...] --password-stdin [--config FILE | --data-dir DIR]
  countersign user list [--json] [--config FILE | --data-dir DIR]
  countersign user remove NAME [--config FILE | --data-dir DIR]
  countersign user unlock NAME | --address ADDRESS [--config FILE | --data-dir DIR]

Without --password-stdin, add asks for the password on the terminal (twice, not echoed).
`;

export interface UserCommandIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const processIo: UserCommandIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

export async function user(
  argv: readonly string[],
  io: UserCommandIo = processIo
): Promise<number> {
  const [sub, ...rest] = argv;
  const p = parseArgs(rest, FLAGS);
  switch (sub) {
    case 'add':
      return withStorage(p, (storage, config) => add(storage, config, p, io));
    case 'list':
      return withStorage(p, (storage) => listAccounts(storage, p, io));
    case 'remove':
      return withStorage(p, (storage) => remove(storage, p, io));
    case 'unlock':
      return withStorage(p, (storage) => unlock(storage, p, io));
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      io.stdout.write(USER_USAGE);
      return 0;
    default:
      return fail('USAGE', `unknown user command ${JSON.stringify(sub)}\n\n${USER_USAGE}`);
  }
}

type Parsed = ReturnType<typeof parseArgs>;

async function withStorage(
  p: Parsed,
  work: (storage: Storage, config: Config) => Promise<number>
): Promise<number> {
  const config = loadConfig({ config: str(p, 'config'), dataDir: str(p, 'data-dir') });
  const storage = await openStorage(config.storage);
  try {
    return await work(storage, config);
  } finally {
    await storage.close();
  }
}

function onlyName(p: Parsed, command: string): string {
  if (p.positionals.length !== 1)
    fail('USAGE', `user ${command} takes exactly one account NAME\n\n${USER_USAGE}`);
  return p.positionals[0]!;
}

async function add(
  storage: Storage,
  config: Config,
  p: Parsed,
  io: UserCommandIo
): Promise<number> {
  const zones = new Zones(config.zones);
  const name = onlyName(p, 'add');
  const nameProblem = accountNameProblem(name);
  if (nameProblem !== null)
    fail('USAGE', `invalid account name ${JSON.stringify(name)}: ${nameProblem}`);
  const role = str(p, 'role');
  if (!isAccountRole(role)) fail('USAGE', `--role must be one of ${ACCOUNT_ROLES.join(', ')}`);
  const namespaces = [...new Set(list(p, 'namespace'))];
  if (role === 'publisher' && namespaces.length === 0) {
    fail(
      'USAGE',
      'a publisher needs at least one --namespace GUN_PREFIX (e.g. staging.store.test/acme/)'
    );
  }
  if (role !== 'publisher' && namespaces.length > 0)
    fail('USAGE', `--namespace applies to publishers only, not to a ${role}`);
  for (const ns of namespaces) {
    const problem = namespaceProblem(ns);
    if (problem !== null) fail('USAGE', `--namespace ${JSON.stringify(ns)} ${problem}`);
    if (zones.isPublic(ns)) {
      io.stderr.write(
        `warning: ${ns} lies in a public zone, where nobody writes through the Notary API; publishers own staging namespaces\n`
      );
    }
  }
  const password = await newPassword(name, p, io);
  checkPasswordRules(password, config.passwordRules.minLength);

  const now = systemClock.now();
  const existing = await storage.accounts.get(name);
  const outcome = await storage.accounts.upsert({
    name,
    role,
    namespaces,
    passwordHash: await hashPassword(password),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  });
  // A changed password or role must not live on in tokens issued under the old one.
  if (outcome === 'updated') await storage.refreshTokens.removeForAccount(name);
  const scope = namespaces.length > 0 ? ` (${namespaces.join(', ')})` : '';
  io.stdout.write(`${outcome} account ${name}: ${role}${scope}\n`);
  return 0;
}

/** From stdin with --password-stdin, else from the terminal; never from a pipe by surprise. */
async function newPassword(name: string, p: Parsed, io: UserCommandIo): Promise<string> {
  if (bool(p, 'password-stdin')) return readPassword(io.stdin);
  if (!isTerminal(io.stdin))
    fail(
      'USAGE',
      'give the password on standard input with --password-stdin (standard input is not a terminal to ask on)'
    );
  return promptNewPassword(io.stdin, io.stderr, name);
}

/** The length rule, counted in characters (code points), not bytes. */
function checkPasswordRules(password: string, minLength: number): void {
  const length = [...password].length;
  if (length < minLength)
    fail(
      'USAGE',
      `the password has ${length} characters; at least ${minLength} are required (countersign.auth.minPasswordLength)`
    );
}

/** The whole of stdin, without one trailing newline (what `echo PASSWORD |` adds), as docker login does. */
async function readPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > MAX_PASSWORD_BYTES + 2)
      fail('USAGE', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    chunks.push(b);
  }
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') fail('USAGE', 'the password on standard input is empty');
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES)
    fail('USAGE', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  return password;
}

async function listAccounts(storage: Storage, p: Parsed, io: UserCommandIo): Promise<number> {
  if (p.positionals.length !== 0) fail('USAGE', `user list takes no arguments\n\n${USER_USAGE}`);
  const accounts = await storage.accounts.list();
  if (bool(p, 'json')) {
    const out = accounts.map((a) => ({
      name: a.name,
      role: a.role,
      namespaces: a.namespaces,
      createdAt: a.createdAt.toISOString(),
      updatedAt: a.updatedAt.toISOString(),
    }));
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ['NAME', 'ROLE', 'NAMESPACES'],
    ...accounts.map((a) => [a.name, a.role, a.namespaces.join(' ')]),
  ];
  const width = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    io.stdout.write(
      `${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]}`.trimEnd() + '\n'
    );
  return 0;
}

async function unlock(storage: Storage, p: Parsed, io: UserCommandIo): Promise<number> {
  const address = str(p, 'address');
  if (address !== undefined) {
    if (p.positionals.length !== 0)
      fail('USAGE', `user unlock takes an account NAME or --address, not both\n\n${USER_USAGE}`);
    if (isIP(normalizeAddress(address)) === 0)
      fail('USAGE', `--address ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
    const key = addressKey(normalizeAddress(address));
    const n = await storage.loginAttempts.clearAddress(key);
    io.stdout.write(`unlocked address ${key}: ${n} recorded login attempts cleared\n`);
    return 0;
  }
  const name = onlyName(p, 'unlock');
  const n = await storage.loginAttempts.clearAccount(name);
  if (n === 0 && (await storage.accounts.get(name)) === null) {
    io.stderr.write(`countersign: no account ${name} and no login attempts for that name\n`);
    return 1;
  }
  io.stdout.write(`unlocked account ${name}: ${n} recorded login attempts cleared\n`);
  return 0;
}

async function remove(storage: Storage, p: Parsed, io: UserCommandIo): Promise<number> {
  const name = onlyName(p, 'remove');
  if (!(await storage.accounts.remove(name))) {
    io.stderr.write(`countersign: no account ${name}\n`);
    return 1;
  }
  io.stdout.write(`removed account ${name}\n`);
  return 0;
}
