/**
 * The yardstick: the docker content-trust scenario against the reference notary-server 0.7.
 * docker-cli.test.ts runs the very same assertions against Countersign.
 */
import { startReferenceNotaryServer } from '../helpers/notary-server.js';
import { dockerScenario } from './docker-scenario.js';

dockerScenario('the reference notary-server', () => startReferenceNotaryServer());
