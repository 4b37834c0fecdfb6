/**
 * Issue evidence: the docker CLI 28 with content trust works against Countersign exactly as
 * against notary-server — the scenario in docker-scenario.ts, whose assertions
 * docker-reference.test.ts checks against the reference server, run against
 * `countersign serve` with its self-signed TLS.
 */
import { startCountersign } from '../helpers/countersign.js';
import { dockerScenario } from './docker-scenario.js';

dockerScenario('Countersign', () => startCountersign());
