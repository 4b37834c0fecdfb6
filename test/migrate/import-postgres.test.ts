import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup } from '../helpers/cleanup.js';
import { startPostgres, type StartedPostgres } from '../helpers/postgres.js';
import {
  postgresNotaryDatabase,
  startNotaryDeployment,
  type NotaryDeployment,
} from '../helpers/notary-deployment.js';
import { GUNS, populate, type PopulatedScenario } from './notary-scenario.js';

describe('import-notary from notary-server + notary-signer on PostgreSQL', () => {
  const cleanup = new Cleanup();
  let pg: StartedPostgres;
  let notary: NotaryDeployment;
  let scenario: PopulatedScenario;

  before(async () => {
    pg = cleanup.add(await startPostgres());
    notary = cleanup.add(
      await startNotaryDeployment({
        serverDb: await postgresNotaryDatabase(pg),
        signerDb: await postgresNotaryDatabase(pg),
      })
    );
    scenario = await populate(notary.sut, cleanup.tempDir('scenario-'));
    cleanup.add(scenario.owner);
  });
  after(() => cleanup.run());

  it('the deployment holds the scenario', async () => {
    const rows = await pg.query('SELECT gun, role, version FROM tuf_files ORDER BY gun, role, version', [], notary.serverDb.url);
    console.log(rows);
    const keys = await pg.query('SELECT key_id, gun, role, algorithm, passphrase_alias, last_used FROM private_keys', [], notary.signerDb.url);
    console.log(keys);
    assert.ok(rows.length > 0);
    assert.deepEqual(await scenario.owner.list(GUNS.serverSnap).then((t) => t.map((x) => x.name).sort()), ['r1', 'v1', 'v2']);
  });
});
