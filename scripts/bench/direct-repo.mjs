// Repositories published over plain HTTP with metadata signed here, without the notary CLI: for
// the shapes the CLI would take minutes to build (hundreds of versions, a thousand GUNs) and for
// uploads that must be ready before a measurement starts. The keys and files come from the
// test suite's builder (compiled into dist/test by `npm run build`); the server holds the
// snapshot and timestamp keys, as after `notary key rotate … -r` or a docker push, so the same
// uploads work on Countersign and on notary-server.
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpGet } from './procs.mjs';
import { repoRoot } from './servers.mjs';

const compiled = (path) => import(pathToFileURL(join(repoRoot, 'dist', path)).href);
// Loaded on first use, not at import: the benchmark checks that dist/ exists before anything
// starts, and says so properly; an import failing here would pre-empt that message.
let builder;
let rolesBody;
let PublicKey;
async function loadCompiled() {
  if (builder) return;
  builder = await compiled('test/helpers/tuf-builder.js');
  ({ rolesBody } = await compiled('test/helpers/multipart.js'));
  ({ PublicKey } = await compiled('src/crypto/keys.js'));
}

export const DELEGATION = 'targets/releases';

/** `n` targets named `${prefix}${i}`, sizes and hashes fixed by `i` and `salt`. */
export function targetList(prefix, n, salt = 0) {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}${i}`,
    length: 1000 + i,
    sha256: Buffer.alloc(32, (i + salt) % 251),
  }));
}

/** POST of a prepared multipart body; resolves with the status, the body and the time taken. */
export function postUpdate(url, gun, body) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(
      `${url}/v2/${gun}/_trust/tuf/`,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': body.contentType, 'Content-Length': body.body.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - start,
          })
        );
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    req.end(body.body);
  });
}

async function serverKey(url, gun, role) {
  const r = await httpGet(`${url}/v2/${gun}/_trust/tuf/${role}.key`);
  if (r.status !== 200) throw new Error(`GET ${gun} ${role}.key: ${r.status} ${r.body}`);
  return PublicKey.fromJSON(JSON.parse(r.body.toString('utf8')), `${role}.key`);
}

/**
 * One repository on one server: root (an x509 key with CN = the GUN, as the notary CLI makes),
 * a targets key, optionally a delegation `targets/releases` with a key of its own.
 */
export class DirectRepo {
  constructor(url, gun, keys) {
    this.url = url;
    this.gun = gun;
    this.keys = keys;
  }

  /** The client's keys for `gun`; sharing them makes targets files identical on every server. */
  static async clientKeys(gun) {
    await loadCompiled();
    return {
      root: await builder.x509Key(gun),
      targets: builder.plainKey('ecdsa'),
      delegation: builder.plainKey('ecdsa'),
    };
  }

  /** Fetches the server's keys (and makes the client's unless given); nothing is published yet. */
  static async open(url, gun, clientKeys) {
    await loadCompiled();
    const [timestamp, snapshot, client] = await Promise.all([
      serverKey(url, gun, 'timestamp'),
      serverKey(url, gun, 'snapshot'),
      clientKeys ?? DirectRepo.clientKeys(gun),
    ]);
    return new DirectRepo(url, gun, { ...client, timestamp, snapshot });
  }

  /** The first upload: root, and targets v1 (with the delegation declared when asked). */
  firstUpload(targets, { delegation = false } = {}) {
    return this.firstUploadWith(this.targetsFile(1, targets, { delegation }));
  }

  /** The first upload: root, and a targets v1 file made already. */
  firstUploadWith(targetsFile) {
    const k = this.keys;
    const root = builder.sign(
      builder.rootSigned({
        root: [k.root],
        targets: [k.targets],
        snapshot: [{ keyid: k.snapshot.id, key: k.snapshot }],
        timestamp: [{ keyid: k.timestamp.id, key: k.timestamp }],
      }),
      [k.root]
    );
    return rolesBody([
      ['root', root],
      ['targets', targetsFile],
    ]);
  }

  /** An upload of targets version `version` listing `targets`. */
  targetsUpload(version, targets, opts = {}) {
    return rolesBody([['targets', this.targetsFile(version, targets, opts)]]);
  }

  /** An upload of the delegation's file at `version`. */
  delegationUpload(version, targets) {
    const file = builder.sign(
      builder.targetsSigned({ targets, version, expires: builder.expiresIn(365) }),
      [this.keys.delegation]
    );
    return rolesBody([[DELEGATION, file]]);
  }

  targetsFile(version, targets, { delegation = false } = {}) {
    const d = this.keys.delegation;
    return builder.sign(
      builder.targetsSigned({
        targets,
        version,
        expires: builder.expiresIn(365),
        ...(delegation
          ? {
              delegations: {
                keys: [d],
                roles: [{ name: DELEGATION, keyids: [d.publicKey.id], paths: ['rel-'] }],
              },
            }
          : {}),
      }),
      [this.keys.targets]
    );
  }

  /** POSTs a prepared body; throws unless the server accepted it. */
  async post(body) {
    const r = await postUpdate(this.url, this.gun, body);
    if (r.status !== 200) throw new Error(`POST ${this.gun} on ${this.url}: ${r.status} ${r.text}`);
    return r;
  }
}
