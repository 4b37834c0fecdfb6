/**
 * The import plan for `import-notary --from-url`: each named repository fetched from a live
 * Notary server (remote.ts), credentials as the notary CLI takes them (remote-auth.ts). No keys
 * and no changefeed come this way: a live server hands out neither.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { HttpMetadataSource } from '../client/http-source.js';
import type { Clock } from '../util/clock.js';
import type { ImportPlan, RepositoryPlan } from './plan.js';
import { fetchRepository } from './remote.js';
import { notaryAuthCredentials, notaryAuthorization } from './remote-auth.js';

export async function planFromUrl(opts: {
  server: string;
  guns: readonly string[];
  caFile?: string;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}): Promise<ImportPlan> {
  let ca: Buffer | undefined;
  try {
    ca = opts.caFile === undefined ? undefined : readFileSync(opts.caFile);
  } catch (err) {
    fail('USAGE', `cannot read the CA file ${opts.caFile}`, { cause: err });
  }
  const credentials = notaryAuthCredentials(opts.env);
  const repositories: RepositoryPlan[] = [];
  for (const gun of [...new Set(opts.guns)]) {
    const auth = await notaryAuthorization({
      server: opts.server,
      gun,
      ca,
      credentials,
      clock: opts.clock,
    });
    const source = new HttpMetadataSource({
      server: opts.server,
      ...(opts.caFile === undefined ? {} : { caFile: opts.caFile }),
      ...(auth ? { auth } : {}),
      credentialsHint: credentials.username
        ? `the credentials of NOTARY_AUTH (${credentials.username}) do not allow it`
        : 'set NOTARY_AUTH (base64 of user:password)',
    });
    repositories.push(await fetchRepository(source, gun, opts.clock.now()));
  }
  return { repositories, changes: [] };
}
