/**
 * `countersign pull IMAGE` (docs/client.md "`pull`"): what `DOCKER_CONTENT_TRUST=1 docker pull` did
 * before Docker 29 — verify IMAGE as `countersign verify` does, then `docker pull NAME@DIGEST` and,
 * for a tag, `docker tag NAME@DIGEST NAME:TAG`, so the image docker runs is the one that was
 * signed. Nothing is pulled unless the verification passed.
 */
import { spawn } from 'node:child_process';
import { bool, parseArgs, str } from './args.js';
import { EXIT, exitCodeOf, reasons, verifyImage, withInputErrors } from './trust-run.js';
import { PULL_FLAGS, PULL_HELP } from './client-usage.js';

/** `docker pull` or `docker tag` failed after the verification passed. */
export const EXIT_DOCKER = 7;

export function pull(argv: readonly string[]): Promise<number> {
  return withInputErrors(() => pullCommand(argv));
}

async function pullCommand(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, PULL_FLAGS);
  if (bool(p, 'help')) {
    process.stdout.write(PULL_HELP);
    return EXIT.OK;
  }
  const { ref, run } = await verifyImage(p, PULL_HELP);
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
