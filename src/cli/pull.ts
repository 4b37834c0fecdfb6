/**
 * `countersign pull IMAGE` (docs/client.md "`pull`"): what `DOCKER_CONTENT_TRUST=1 docker pull` did
 * before Docker 29 — verify IMAGE as `countersign verify` does, then `docker pull NAME@DIGEST` and,
 * for a tag, `docker tag NAME@DIGEST NAME:TAG`, so the image docker runs is the one that was
 * signed. Nothing is pulled unless the verification passed.
 */
import { spawn } from 'node:child_process';
import { bool, parseArgs, str, type FlagSpec } from './args.js';
import {
  EXIT,
  EXIT_CODES_HELP,
  TRUST_FLAGS,
  TRUST_OPTIONS_HELP,
  exitCodeOf,
  reasons,
  verifyImage,
  withInputErrors,
} from './trust-run.js';

/** `docker pull` or `docker tag` failed after the verification passed. */
export const EXIT_DOCKER = 7;

const HELP = `Usage: countersign pull [--server URL] [options] [--docker PATH] IMAGE

Verifies IMAGE as "countersign verify" does (docker's reference rules, targets/releases then
targets, the state file and pins), then runs "docker pull NAME@sha256:<digest>" and, when IMAGE
names a tag, "docker tag NAME@sha256:<digest> NAME:TAG". docker gets this process's
environment (DOCKER_HOST, DOCKER_CONFIG, …).

Options:
  --docker PATH     the docker command (default: docker on PATH)
${TRUST_OPTIONS_HELP}
${EXIT_CODES_HELP}  7  the verification passed but docker pull or docker tag failed
`;

export const PULL_FLAGS: FlagSpec = { ...TRUST_FLAGS, docker: 'string' };

export function pull(argv: readonly string[]): Promise<number> {
  return withInputErrors(() => pullCommand(argv));
}

async function pullCommand(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, PULL_FLAGS);
  if (bool(p, 'help')) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }
  const { ref, run } = await verifyImage(p, HELP);
  const code = exitCodeOf(run);
  const target = run.result.target;
  if (code !== EXIT.OK || !target) {
    for (const line of reasons('pull', run)) process.stderr.write(`${line}\n`);
    return code;
  }
  const docker = str(p, 'docker') ?? 'docker';
  const pinned = `${ref.name}@${target.digest}`;
  process.stderr.write(
    `countersign pull: ${ref.tag ?? target.digest} is signed as ${target.digest}\n`
  );
  if ((await runDocker(docker, ['pull', pinned])) !== 0) return EXIT_DOCKER;
  if (
    ref.tag !== undefined &&
    (await runDocker(docker, ['tag', pinned, `${ref.name}:${ref.tag}`])) !== 0
  )
    return EXIT_DOCKER;
  process.stdout.write(`${pinned}\n`);
  return EXIT.OK;
}

/** Runs docker with our stderr for its output (stdout stays the one line scripts read). */
function runDocker(docker: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(docker, args, { stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', (err) => {
      process.stderr.write(`countersign pull: cannot run ${docker}: ${err.message}\n`);
      resolve(1);
    });
    child.on('close', (status) => resolve(status ?? 1));
  });
}
