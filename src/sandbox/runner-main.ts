/**
 * The runner process: `node dist/src/sandbox/runner-main.js` reads one RunRequest (JSON) on
 * stdin, runs it and writes JSON lines on stdout: `{"step": …}` as the run moves on (the job's
 * progress), then one `{"report": RunReport}`. The server spawns it (the Notary
 * API never waits on a run, and a crash here cannot take the server down); SIGTERM removes the
 * container before exiting, and the server cleans up after a SIGKILL too (src/sandbox/runner.ts).
 */
import { rm } from 'node:fs/promises';
import { Runc } from './runc.js';
import { runOnce, type RunRequest } from './run.js';

/** A request is a few KiB; anything longer is not ours. */
const MAX_REQUEST_BYTES = 1024 * 1024;

async function readRequest(): Promise<RunRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw new Error('the run request is too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunRequest;
}

async function main(): Promise<void> {
  const req = await readRequest();
  const stop = () => {
    void new Runc(req.runcRoot)
      .remove(req.containerId)
      .finally(() => rm(req.workDir, { recursive: true, force: true }))
      .finally(() => process.exit(143));
  };
  process.once('SIGTERM', stop);
  const report = await runOnce(req, (step) => process.stdout.write(`${JSON.stringify(step)}\n`));
  await rm(req.workDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ report })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
