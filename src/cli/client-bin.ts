/** Entry point of the client bundle (scripts/bundle-client.mjs): runs `clientMain` on argv. */
import { clientMain } from './client.js';

clientMain(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
);
