/**
 * The repositories an operator typically has in a notary-server deployment, made with the real
 * notary CLI against it (test/helpers/notary-deployment.ts), and what the migration tests expect
 * to find again after moving them into Countersign:
 *
 * - `clientSnap`: notary's CLI default, snapshot key held by the client; three publishes.
 * - `serverSnap`: docker's default, snapshot key held by the server (`key rotate … snapshot -r`),
 *   with a delegation `targets/releases` holding its own target, and a root rotation.
 * - `recreated`: published, deleted on the server (`notary delete --remote`), created again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from '../helpers/cleanup.js';
import { NotaryClient } from '../helpers/notary-cli.js';
import {
  startNotaryDeployment,
  type NotaryDeployment,
  type NotaryDeploymentOptions,
} from '../helpers/notary-deployment.js';
import type { ServerUnderTest } from '../helpers/server-under-test.js';
import { makeDelegationCert, type SigningCertFiles } from '../helpers/tls.js';

export const GUNS = {
  clientSnap: 'example.com/acme/client-snap',
  serverSnap: 'example.com/acme/server-snap',
  recreated: 'example.com/acme/recreated',
} as const;

export interface PopulatedScenario {
  /** The owner's client: its trust dir holds the root, targets (and client snapshot) keys. */
  readonly owner: NotaryClient;
  /** The delegate's key, imported into the owner's trust dir too. */
  readonly releases: SigningCertFiles;
  /** Target name → content, per GUN, as published last. */
  readonly targets: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export async function populate(server: ServerUnderTest, dir: string): Promise<PopulatedScenario> {
  const owner = await NotaryClient.create({ server });
  const file = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const targets: Record<string, Record<string, string>> = {};
  const add = async (gun: string, name: string, content: string, roles?: string[]) => {
    await owner.add(gun, name, file(`${name}.txt`, content), { publish: true, roles });
    (targets[gun] ??= {})[name] = content;
  };

  await owner.init(GUNS.clientSnap, { publish: true });
  await add(GUNS.clientSnap, 'v1', 'client snap one');
  await add(GUNS.clientSnap, 'v2', 'client snap two');

  await owner.init(GUNS.serverSnap, { publish: true });
  await owner.keyRotate(GUNS.serverSnap, 'snapshot', { serverManaged: true });
  await owner.publish(GUNS.serverSnap);
  await add(GUNS.serverSnap, 'v1', 'server snap one');
  const releases = await makeDelegationCert(dir, { name: 'releases' });
  await owner.delegationAdd(GUNS.serverSnap, 'targets/releases', [releases.certFile], {
    allPaths: true,
    publish: true,
  });
  await owner.keyImport(releases.keyFile, { role: 'targets/releases', gun: GUNS.serverSnap });
  await add(GUNS.serverSnap, 'r1', 'released one', ['targets/releases']);
  await owner.keyRotate(GUNS.serverSnap, 'root');
  await owner.publish(GUNS.serverSnap);
  await add(GUNS.serverSnap, 'v2', 'server snap two');

  await owner.init(GUNS.recreated, { publish: true });
  await add(GUNS.recreated, 'old', 'before deletion');
  await owner.deleteRemote(GUNS.recreated);
  delete targets[GUNS.recreated];
  await owner.init(GUNS.recreated, { publish: true });
  await add(GUNS.recreated, 'new', 'after deletion');

  return { owner, releases, targets };
}

/** A notary deployment on these two databases, populated with the scenario; both stop with `cleanup`. */
export async function populatedDeployment(
  cleanup: Cleanup,
  databases: NotaryDeploymentOptions
): Promise<{ notary: NotaryDeployment; scenario: PopulatedScenario }> {
  const notary = cleanup.add(await startNotaryDeployment(databases));
  const scenario = await populate(notary.sut, cleanup.tempDir('scenario-'));
  cleanup.add(scenario.owner);
  return { notary, scenario };
}
