/**
 * The store's commands (docs/interfaces.md "Store API", docs/store.md): publishers submit, reviewers
 * approve or reject, admins publish and revoke, over the store API with an account's Basic
 * credentials (the password from COUNTERSIGN_PASSWORD or --password-stdin):
 *
 *   countersign submit GUN:TAG --server URL [--ca FILE] --user NAME
 *   countersign submission get ID | submission list [--state S] [--gun GUN]
 *   countersign approve ID [--note TEXT]     countersign reject ID --note TEXT
 *   countersign publish ID                   countersign revoke PUBLIC_GUN:TAG --reason TEXT
 *   countersign report ID FILE               countersign waive ID --check NAME --reason TEXT
 *
 * and `countersign audit verify`, which reads the database itself (`--config`/`--data-dir`, an
 * operator's offline check) or asks a server (`--server`).
 *
 * Exit status: 0 done; 1 the store said no (verification failed, publish refused, audit chain
 * broken, or an API error); 2 a usage error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { CountersignError, fail } from '../errors.js';
import { didYouMean } from '../util/suggest.js';
import { openStorage } from '../storage/index.js';
import { verifyAuditChain, type AuditVerification } from '../store/audit.js';
import type { Revocation } from '../store/revoke.js';
import { bool, parseArgs, str, type Parsed } from './args.js';
import { quorumLine, type SubmissionAnswer as SubmissionView } from './quorum.js';
import { withDefaults } from './profile.js';
import { StoreClient } from './store-client.js';
import { formatTable } from './table.js';
import { auditTable, fetchAudit, sinceTime } from './audit-list.js';
import { systemClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { splitReference } from './verify.js';
import { CONNECTION, STORE_FLAGS, STORE_USAGE } from './store-usage.js';
import { postFollowingJob } from './job-follow.js';

export { STORE_USAGE };

export interface StoreCommandIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Job progress (src/cli/job-follow.ts) and the wait heartbeat; process.stderr when absent. */
  readonly stderr?: NodeJS.WritableStream;
}

const processIo: StoreCommandIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  env: process.env,
};

/** `command` is the first word (submit, submission, approve, …); `argv` the rest. */
export async function storeCommand(
  command: string,
  argv: readonly string[],
  io: StoreCommandIo = processIo
): Promise<number> {
  let sub: string | undefined;
  let rest = argv;
  if (command === 'submission' || command === 'audit') [sub, ...rest] = argv;
  const raw = parseArgs(rest, STORE_FLAGS);
  if (bool(raw, 'help') || sub === 'help' || sub === '--help') {
    io.stdout.write(STORE_USAGE);
    return 0;
  }
  // `audit verify --data-dir` reads the database itself: no server to default to.
  const offline = str(raw, 'config') !== undefined || str(raw, 'data-dir') !== undefined;
  const p = offline ? raw : withDefaults(raw, io.env);
  switch (command) {
    case 'submit': {
      const { gun, tag } = splitReference(one(p, 'GUN:TAG'));
      const view = await postFollowingJob<SubmissionView>(
        await client(p, io),
        '/submissions',
        { gun, tag },
        { stderr: io.stderr ?? process.stderr }
      );
      return printSubmission(io, p, view, view.state === 'verification_failed' ? 1 : 0);
    }
    case 'submission':
      return submissionCommand(sub, p, io);
    case 'approve':
    case 'reject': {
      const id = one(p, 'ID');
      const note = str(p, 'note');
      if (command === 'reject' && (note === undefined || note.trim() === ''))
        fail('USAGE', 'reject needs --note TEXT: the reason goes on record');
      const view = await postFollowingJob<SubmissionView>(
        await client(p, io),
        `/submissions/${encodeURIComponent(id)}/reviews`,
        { decision: command, ...(note !== undefined ? { note } : {}) },
        { stderr: io.stderr ?? process.stderr }
      );
      // An approval that completed the quorum but whose publish the store refused.
      const refused =
        view.state === 'approved' &&
        view.publishError !== undefined &&
        view.publishError.at >= view.updatedAt;
      return printSubmission(io, p, view, refused ? 1 : 0);
    }
    case 'publish': {
      const view = await postFollowingJob<SubmissionView>(
        await client(p, io),
        `/submissions/${encodeURIComponent(one(p, 'ID'))}/publish`,
        {},
        { stderr: io.stderr ?? process.stderr }
      );
      return printSubmission(io, p, view, 0);
    }
    case 'revoke': {
      const { gun, tag } = splitReference(one(p, 'PUBLIC_GUN:TAG'));
      const reason = str(p, 'reason');
      if (reason === undefined || reason.trim() === '') fail('USAGE', 'revoke needs --reason TEXT');
      const r = await (
        await client(p, io)
      ).post<Revocation>(`/repositories/${gun}/revocations`, { tag, reason });
      if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else
        io.stdout.write(
          `revoked ${r.publicGun}:${r.tag} (${r.digest}); public targets version ${r.targetsVersion}\n`
        );
      return 0;
    }
    case 'report': {
      if (p.positionals.length !== 2) fail('USAGE', `report takes ID and FILE\n\n${STORE_USAGE}`);
      const [id, file] = p.positionals as [string, string];
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (cause) {
        throw new CountersignError('USAGE', `cannot read the report ${file}`, { cause });
      }
      const view = await (
        await client(p, io)
      ).postBytes<SubmissionView>(`/submissions/${encodeURIComponent(id)}/reports`, bytes);
      return printSubmission(io, p, view, 0);
    }
    case 'waive': {
      const id = one(p, 'ID');
      const check = str(p, 'check');
      const reason = str(p, 'reason');
      if (check === undefined || reason === undefined || reason.trim() === '')
        fail('USAGE', 'waive needs --check NAME and --reason TEXT');
      const view = await (
        await client(p, io)
      ).post<SubmissionView>(`/submissions/${encodeURIComponent(id)}/waivers`, { check, reason });
      return printSubmission(io, p, view, 0);
    }
    case 'audit':
      return sub === 'list' ? auditList(p, io) : auditVerify(sub, p, io);
    default:
      return fail('USAGE', `unknown command ${command}`);
  }
}

/** A DURATION flag; a bad one is a usage error (exit 2), not a configuration error. */
function usageDuration(text: string, flag: string): number {
  try {
    return parseDuration(text, flag);
  } catch (cause) {
    throw new CountersignError('USAGE', (cause as Error).message, { cause });
  }
}

/** `submission get ID` and `submission list [--state S] [--gun GUN]`. */
async function submissionCommand(
  sub: string | undefined,
  p: Parsed,
  io: StoreCommandIo
): Promise<number> {
  if (sub === 'get') {
    const view = await (
      await client(p, io)
    ).get<SubmissionView>(`/submissions/${encodeURIComponent(one(p, 'ID'))}`);
    return printSubmission(io, p, view, 0);
  }
  if (sub === 'list') {
    if (p.positionals.length !== 0) fail('USAGE', 'submission list takes no arguments');
    const res = await (
      await client(p, io)
    ).get<{ submissions: SubmissionView[] }>('/submissions', {
      state: str(p, 'state'),
      gun: str(p, 'gun'),
    });
    return printList(io, p, res);
  }
  return fail(
    'USAGE',
    `unknown submission command ${JSON.stringify(sub ?? '')} (get or list)\n\n${STORE_USAGE}`
  );
}

function one(p: Parsed, what: string): string {
  if (p.positionals.length !== 1) fail('USAGE', `expected exactly one ${what}\n\n${STORE_USAGE}`);
  return p.positionals[0]!;
}

async function client(p: Parsed, io: StoreCommandIo): Promise<StoreClient> {
  const server = str(p, 'server');
  if (server === undefined) fail('USAGE', `--server URL is required\n\n${CONNECTION}`);
  const user = str(p, 'user');
  if (user === undefined) fail('USAGE', '--user NAME is required');
  const password = bool(p, 'password-stdin')
    ? await readStdin(io.stdin)
    : io.env.COUNTERSIGN_PASSWORD;
  if (password === undefined || password === '')
    fail(
      'USAGE',
      'set COUNTERSIGN_PASSWORD or give the password on standard input with --password-stdin'
    );
  const caFile = str(p, 'ca');
  const timeout = str(p, 'timeout');
  const stderr = io.stderr ?? process.stderr;
  return new StoreClient({
    server,
    username: user,
    password,
    ...(caFile !== undefined ? { caFile } : {}),
    ...(timeout !== undefined ? { timeoutMs: usageDuration(timeout, '--timeout') } : {}),
    // A verification against a registry may take minutes: say that the CLI is still waiting.
    onWaiting: (ms, request) =>
      stderr.write(`countersign: still waiting for ${request} (${Math.round(ms / 1000)} s)\n`),
  });
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function printSubmission(io: StoreCommandIo, p: Parsed, v: SubmissionView, code: number): number {
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    return code;
  }
  const lines = [
    `submission ${v.id} ${v.state}`,
    `  ${v.gun}:${v.tag} → ${v.publicGun}:${v.tag}, submitted by ${v.submitter}`,
  ];
  if (v.target)
    lines.push(`  target ${v.target.digest} ${v.target.length} bytes, signed in ${v.target.role}`);
  for (const c of v.verification.checks)
    lines.push(`  ${c.passed ? 'passed' : 'FAILED'} ${c.name}: ${c.detail}`);
  for (const c of v.policy.checks)
    lines.push(
      `  ${c.passed ? 'passed' : c.waived ? 'waived' : 'FAILED'} policy ${c.name}: ${c.detail}`
    );
  for (const r of v.reviews)
    lines.push(
      `  ${r.decision === 'approve' ? 'approved' : 'rejected'} by ${r.reviewer} at ${r.at}${r.note ? `: ${r.note}` : ''}`
    );
  const quorum = quorumLine(v);
  if (quorum !== undefined) lines.push(`  ${quorum}`);
  if (v.published)
    lines.push(
      `  published at ${v.published.at} by ${v.published.by} (public targets version ${v.published.targetsVersion})`
    );
  if (v.publishError && v.state === 'approved')
    lines.push(`  publish refused at ${v.publishError.at}: ${v.publishError.message}`);
  if (v.revoked) lines.push(`  revoked at ${v.revoked.at} by ${v.revoked.by}: ${v.revoked.reason}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return code;
}

function printList(io: StoreCommandIo, p: Parsed, res: { submissions: SubmissionView[] }): number {
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(
    formatTable([
      ['ID', 'STATE', 'GUN:TAG', 'SUBMITTER', 'CREATED'],
      ...res.submissions.map((s) => [s.id, s.state, `${s.gun}:${s.tag}`, s.submitter, s.createdAt]),
    ])
  );
  return 0;
}

async function auditList(p: Parsed, io: StoreCommandIo): Promise<number> {
  if (p.positionals.length !== 0) fail('USAGE', 'audit list takes no arguments');
  const sinceText = str(p, 'since');
  const gun = str(p, 'gun');
  const entries = await fetchAudit(await client(p, io), {
    ...(sinceText !== undefined ? { since: sinceTime(sinceText, systemClock) } : {}),
    ...(gun !== undefined ? { gun } : {}),
  });
  io.stdout.write(bool(p, 'json') ? `${JSON.stringify(entries, null, 2)}\n` : auditTable(entries));
  return 0;
}

async function auditVerify(
  sub: string | undefined,
  p: Parsed,
  io: StoreCommandIo
): Promise<number> {
  if (sub !== 'verify')
    return fail(
      'USAGE',
      `unknown audit command ${JSON.stringify(sub ?? '')} (verify or list)${didYouMean(sub ?? '', ['verify', 'list'])}\n\n${STORE_USAGE}`
    );
  if (p.positionals.length !== 0) fail('USAGE', 'audit verify takes no arguments');
  let result: AuditVerification;
  if (str(p, 'server') !== undefined) {
    if (str(p, 'config') !== undefined || str(p, 'data-dir') !== undefined)
      fail('USAGE', '--server excludes --config and --data-dir');
    result = await (await client(p, io)).get<AuditVerification>('/audit/verify');
  } else {
    const config = loadConfig({ config: str(p, 'config'), dataDir: str(p, 'data-dir') }, io.env);
    // Opening SQLite creates the file: a mistyped path must not pass as an empty, intact log.
    if (config.storage.backend === 'sqlite' && !existsSync(config.storage.path)) {
      fail(
        'USAGE',
        `there is no database at ${config.storage.path} (check --data-dir or --config)`
      );
    }
    const storage = await openStorage(config.storage);
    try {
      result = await verifyAuditChain(storage.audit);
    } finally {
      await storage.close();
    }
  }
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (result.ok)
    io.stdout.write(
      `audit log intact: ${result.entries} entries, every hash chains to the one before\n`
    );
  else
    io.stdout.write(
      `audit log BROKEN at entry ${result.firstBroken}${result.reason ? `: ${result.reason}` : ''} (${result.entries} entries read)\n`
    );
  return result.ok ? 0 : 1;
}
