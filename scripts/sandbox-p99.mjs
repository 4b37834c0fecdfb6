#!/usr/bin/env node
// GET p99 of the server while healthcheck runs go on (docs/store.md "Health checks run in a
// sandbox", issue 18's "GET p99 during a run stays within 2× of idle"). One process holds the
// Countersign app (SQLite, a store) and the server's HealthcheckRunner, exactly as
// `countersign serve` holds them; wrk loads GET /_notary_server/health at a fixed, moderate
// concurrency, first idle, then while the runner runs the busybox httpd image (pull, unpack,
// runc, probes) back to back. Needs `npm run build` (or tsc) first, root, and the Debian
// packages of the test suite (docker-registry, skopeo, umoci, runc, wrk, busybox-static).
//
//   node scripts/sandbox-p99.mjs [--seconds 10] [--connections 8]
import http from 'node:http';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../dist/src/app.js';
import { readConfig } from '../dist/src/config/load.js';
import { HealthcheckRunner } from '../dist/src/sandbox/runner.js';
import { parseRunHealthcheck } from '../dist/src/sandbox/settings.js';
import { systemClock } from '../dist/src/util/clock.js';
import { silentLogger } from '../dist/src/util/log.js';
import { ImageLayout } from '../dist/test/helpers/images.js';
import { startRegistry } from '../dist/test/helpers/registry.js';
import { buildBusyboxImage } from '../dist/test/sandbox/busybox-images.js';
import { run } from './bench/procs.mjs';
import { parseWrk } from './bench/wrk.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);

const base = mkdtempSync(join(os.tmpdir(), 'countersign-p99-'));
chmodSync(base, 0o711);
const registry = await startRegistry();
const layout = await ImageLayout.create();
let server;
let app;
try {
  await buildBusyboxImage(layout, 'httpd', {
    entrypoint: ['/bin/httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/www'],
    user: 'app',
    healthcheck: {
      Test: ['CMD', '/bin/wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'],
      Interval: 1e9,
    },
  });
  await layout.push(registry.host, 'httpd', 'staging/acme/httpd:1.0');
  const digest = (await layout.descriptor('httpd')).digest;

  const { config } = readConfig({ dataDir: join(base, 'data') }, {}, base);
  app = await createApp(config, { clock: systemClock, log: silentLogger });
  server = http.createServer(app.handle);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/_notary_server/health`;

  const settings = parseRunHealthcheck({ timeout: '60s' }, 'runHealthcheck');
  const runner = new HealthcheckRunner({
    settings,
    stateDir: join(base, 'sandbox'),
    log: silentLogger,
  });
  await runner.start();
  const source = { registryUrl: registry.url, repository: 'staging/acme/httpd', digest };

  const load = async () => {
    const r = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url]);
    return parseWrk(r.stdout);
  };
  await load(); // warm-up
  const idle = await load();
  let runs = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const report = await runner.run(source, 'linux/amd64');
      if (!report.passed) throw new Error(`the run failed: ${report.reason}`);
      runs++;
    }
  })();
  await new Promise((r) => setTimeout(r, 500)); // the first run is under way
  const busy = await load();
  stop = true;
  await loop;
  const out = {
    date: new Date().toISOString(),
    load: os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
    connections,
    seconds,
    idle: { rps: idle.rps, p99Ms: idle.p99Ms },
    duringRuns: { rps: busy.rps, p99Ms: busy.p99Ms, runsCompleted: runs },
    p99Ratio: Number((busy.p99Ms / idle.p99Ms).toFixed(2)),
  };
  console.log(JSON.stringify(out, null, 2));
} finally {
  await new Promise((r) => (server ? server.close(r) : r()));
  await app?.close();
  await registry.stop();
  await layout.remove();
  rmSync(base, { recursive: true, force: true });
}
