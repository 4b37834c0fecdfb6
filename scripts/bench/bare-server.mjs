// Node's ceiling for this workload: a bare node:http server answering fixed paths with bytes
// and headers held in memory (a Map lookup and one write). Started by the benchmark as
// `node bare-server.mjs MANIFEST`; MANIFEST maps path → { headers, file }.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const responses = new Map();
for (const [path, r] of Object.entries(manifest)) {
  const body = readFileSync(r.file);
  responses.set(path, { headers: { ...r.headers, 'Content-Length': body.length }, body });
}

const server = createServer((req, res) => {
  const r = responses.get(req.url);
  if (r === undefined) {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, r.headers);
  res.end(r.body);
});
// As Countersign's own listener, so idle keep-alive connections are treated alike.
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
