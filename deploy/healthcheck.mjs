#!/usr/bin/env node
// The container's HEALTHCHECK: exits 0 when Countersign answers 200 on /healthz, 1 otherwise.
// COUNTERSIGN_HEALTHCHECK_URL overrides the URL (for example http://… with --plain-http, or
// another port). Certificates are not verified: the probe talks to this container's own
// listener over loopback and sends nothing secret, and an operator's certificate need not name
// 127.0.0.1.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const url = new URL(process.env.COUNTERSIGN_HEALTHCHECK_URL ?? 'https://127.0.0.1:4443/healthz');
const get = url.protocol === 'http:' ? httpGet : httpsGet;
const req = get(url, { rejectUnauthorized: false, timeout: 4000 }, (res) => {
  res.resume();
  process.exitCode = res.statusCode === 200 ? 0 : 1;
  if (process.exitCode !== 0) console.error(`${url.href} answered ${res.statusCode}`);
});
req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
req.on('error', (e) => {
  console.error(`${url.href}: ${e.message}`);
  process.exitCode = 1;
});
