/** Entry point of the client bundle (scripts/bundle-client.mjs): runs `clientMain` on argv. */
import { clientMain } from './client.js';

clientMain(process.argv.slice(2)).then(exitNow, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  exitNow(1);
});

/**
 * Ends the process as soon as the command is done and its output is out: Node's orderly
 * teardown after the event loop drains (the idle keep-alive socket, freeing the environment)
 * costs a check about 3 ms of CPU and adds nothing. Every command awaits all of its own work
 * (state file, trust dir, docker) before it returns, and the code cache is still written by the
 * 'exit' event. Only when stdout and stderr hold nothing unwritten — writes to pipes are
 * asynchronous outside Linux — otherwise the status is set and Node ends as usual.
 */
function exitNow(code: number): void {
  process.exitCode = code;
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0)
    process.exit(code);
}
