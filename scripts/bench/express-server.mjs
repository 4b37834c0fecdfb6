// An Express 5 route answering the same bytes as bare-server.mjs: what a framework costs on
// this path. Started by the benchmark as `node express-server.mjs MANIFEST`.
import { readFileSync } from 'node:fs';
import express from 'express';

const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const responses = new Map();
for (const [path, r] of Object.entries(manifest)) {
  const body = readFileSync(r.file);
  responses.set(path, { headers: { ...r.headers, 'Content-Length': body.length }, body });
}

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get('/v2/{*rest}', (req, res) => {
  const r = responses.get(req.originalUrl);
  if (r === undefined) {
    res.status(404).end();
    return;
  }
  res.set(r.headers);
  res.status(200).send(r.body);
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
