/**
 * The Notary fixtures (fixtures/notary/<scenario>/, made by scripts/capture-notary.sh from the real
 * notary-server, notary CLI and docker CLI) are mutually consistent, with node:crypto only:
 * capture.json matches the bytes on disk, timestamps and snapshots point at captured files, key
 * IDs and signatures check out, the test-only private keys open with the documented passphrases,
 * and each scenario shows the protocol fact it was captured for.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fixturePath } from '../helpers/paths.js';

// ---- shapes of capture.json and of the metadata ------------------------------------------------

interface CapturedFile {
  path: string;
  kind: 'version' | 'current';
  role: string;
  version: number;
  url: string;
  sha256: string;
  length: number;
  step: number;
  command: string;
}
interface Capture {
  scenario: string;
  gun: string;
  passphrases: { root: string; repository: string };
  steps: { step: number; command: string }[];
  files: CapturedFile[];
  absentVersions: { role: string; version: number; step: number }[];
  certificates: { path: string; keyId: string; keytype: string; rootVersions: number[] }[];
  privateKeys: {
    path: string;
    canonicalKeyId: string;
    role: string;
    passphrase: 'root' | 'repository';
  }[];
}
interface Key {
  keytype: string;
  keyval: { public: string; private: null };
}
interface RoleKeys {
  keyids: string[];
  threshold: number;
}
interface FileMeta {
  hashes: Record<string, string>;
  length: number;
  custom?: unknown;
}
interface Signed {
  _type: string;
  version: number;
  expires: string;
  keys?: Record<string, Key>;
  roles?: Record<string, RoleKeys>;
  delegations?: {
    keys: Record<string, Key>;
    roles: (RoleKeys & { name: string; paths?: string[] })[];
  };
  targets?: Record<string, FileMeta>;
  meta?: Record<string, FileMeta>;
}
interface Envelope {
  signed: Signed;
  signatures: { keyid: string; method: string; sig: string }[];
}

interface Loaded {
  file: CapturedFile;
  bytes: Buffer;
  doc: Envelope;
}

const SCENARIOS = [
  'ecdsa-root',
  'delegation',
  'root-rotation',
  'rsa-root',
  'docker',
  'ecdsa-signer',
];

function load(scenario: string): { dir: string; capture: Capture; files: Loaded[] } {
  const dir = fixturePath('notary', scenario);
  const capture = JSON.parse(readFileSync(join(dir, 'capture.json'), 'utf8')) as Capture;
  const files = capture.files.map((file) => {
    const bytes = readFileSync(join(dir, file.path));
    return { file, bytes, doc: JSON.parse(bytes.toString('utf8')) as Envelope };
  });
  return { dir, capture, files };
}

const sha = (alg: string, bytes: Buffer, enc: 'hex' | 'base64'): string =>
  createHash(alg).update(bytes).digest(enc);

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

const typeOf = (role: string): string =>
  role === 'root'
    ? 'Root'
    : role === 'snapshot'
      ? 'Snapshot'
      : role === 'timestamp'
        ? 'Timestamp'
        : 'Targets';

const versions = (files: Loaded[], role: string): Loaded[] =>
  files
    .filter((f) => f.file.kind === 'version' && f.file.role === role)
    .sort((a, b) => a.file.version - b.file.version);

/** Does `meta` (a snapshot or timestamp entry) describe exactly these bytes? */
function describes(meta: FileMeta, bytes: Buffer): boolean {
  const known = Object.keys(meta.hashes).filter((a) => a === 'sha256' || a === 'sha512');
  return (
    known.length > 0 &&
    meta.length === bytes.length &&
    known.every((alg) => meta.hashes[alg] === sha(alg, bytes, 'base64'))
  );
}

// ---- keys and signatures (docs/protocol.md §4.1, §4.7, §4.8) ----------------------------------------

/** Key ID = sha256 of the canonical key object; for these ASCII fields canonical form is fixed. */
function keyId(keytype: string, publicB64: string): string {
  const canonical = `{"keytype":${JSON.stringify(keytype)},"keyval":{"private":null,"public":${JSON.stringify(publicB64)}}}`;
  return sha('sha256', Buffer.from(canonical, 'utf8'), 'hex');
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function publicKey(key: Key): KeyObject {
  const raw = Buffer.from(key.keyval.public, 'base64');
  switch (key.keytype) {
    case 'ecdsa':
    case 'rsa':
      return createPublicKey({ key: raw, format: 'der', type: 'spki' });
    case 'ecdsa-x509':
    case 'rsa-x509':
      return new X509Certificate(raw).publicKey;
    case 'ed25519':
      return createPublicKey({
        key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
        format: 'der',
        type: 'spki',
      });
    default:
      throw new Error(`unexpected keytype ${key.keytype}`);
  }
}

/** The canonical ID the client names key files by: the plain key behind an x509 certificate. */
function canonicalId(key: KeyObject): string {
  const spki = key.export({ format: 'der', type: 'spki' }).toString('base64');
  const type =
    key.asymmetricKeyType === 'ec' ? 'ecdsa' : key.asymmetricKeyType === 'rsa' ? 'rsa' : 'ed25519';
  return keyId(type, spki);
}

/**
 * The bytes Go signed: the `signed` member as stored, with Go's HTML escaping undone. Stored files
 * are canonical JSON plus that escaping (docs/protocol.md §4.1), so no re-encoding is needed here.
 */
function signedBytes(bytes: Buffer): Buffer {
  const text = bytes.toString('utf8');
  assert.ok(text.startsWith('{"signed":'), 'envelope starts with {"signed":');
  const end = text.lastIndexOf(',"signatures":');
  assert.ok(end > 0, 'envelope has ,"signatures":');
  const raw = text.slice('{"signed":'.length, end);
  const unescaped = raw.replace(
    /(\\+)u(003c|003e|0026|2028|2029)/g,
    (m, slashes: string, hex: string) =>
      slashes.length % 2 === 1 ? slashes.slice(1) + String.fromCharCode(parseInt(hex, 16)) : m
  );
  return Buffer.from(unescaped, 'utf8');
}

function verifies(key: Key, method: string, message: Buffer, sig: Buffer): boolean {
  const pub = publicKey(key);
  switch (method) {
    case 'ecdsa':
      assert.ok(
        key.keytype === 'ecdsa' || key.keytype === 'ecdsa-x509',
        `ecdsa signature by a ${key.keytype} key`
      );
      assert.equal(sig.length, 64, 'P-256 signatures are raw r||s, 64 bytes');
      return verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
    case 'rsapss':
      assert.ok(
        key.keytype === 'rsa' || key.keytype === 'rsa-x509',
        `rsapss signature by a ${key.keytype} key`
      );
      return verify(
        'sha256',
        message,
        { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        sig
      );
    case 'eddsa':
      assert.equal(key.keytype, 'ed25519');
      return verify(null, message, pub, sig);
    default:
      throw new Error(`unexpected signature method ${method}`);
  }
}

/**
 * Every signature on the file must verify with a key from `keys`, and the valid ones must meet
 * each role's threshold (a rotated root must satisfy the old root role and the new one).
 */
function assertSigned(f: Loaded, keys: Record<string, Key>, roles: RoleKeys[]): void {
  const message = signedBytes(f.bytes);
  const valid = new Set<string>();
  for (const s of f.doc.signatures) {
    const key = keys[s.keyid];
    assert.ok(key, `${f.file.path}: signature by unknown key ${s.keyid}`);
    assert.ok(
      verifies(key, s.method, message, Buffer.from(s.sig, 'base64')),
      `${f.file.path}: bad ${s.method} signature by ${s.keyid}`
    );
    valid.add(s.keyid);
  }
  for (const role of roles) {
    const n = role.keyids.filter((id) => valid.has(id)).length;
    assert.ok(
      n >= role.threshold,
      `${f.file.path}: ${n} valid signatures, threshold ${role.threshold}`
    );
  }
}

/** The newest captured version of `role` made at or before `step` (what the server held then). */
function inEffect(files: Loaded[], role: string, step: number): Loaded | undefined {
  return versions(files, role)
    .filter((f) => f.file.step <= step)
    .at(-1);
}

// ---- the checks ----------------------------------------------------------------------------------

for (const scenario of SCENARIOS) {
  describe(`fixtures/notary/${scenario}`, () => {
    const { dir, capture, files } = load(scenario);
    const roots = versions(files, 'root');

    it('capture.json agrees with the files on disk', () => {
      assert.equal(capture.scenario, scenario);
      assert.equal(readFileSync(join(dir, 'gun.txt'), 'utf8').trim(), capture.gun);
      assert.deepEqual(
        capture.steps.map((s) => s.step),
        capture.steps.map((_, i) => i + 1)
      );
      for (const { file, bytes, doc } of files) {
        assert.equal(sha('sha256', bytes, 'hex'), file.sha256, `${file.path} sha256`);
        assert.equal(bytes.length, file.length, `${file.path} length`);
        assert.equal(doc.signed._type, typeOf(file.role), `${file.path} _type`);
        assert.equal(doc.signed.version, file.version, `${file.path} version`);
        assert.equal(file.command, capture.steps[file.step - 1]?.command, `${file.path} command`);
        const name = file.kind === 'version' ? `${file.role}.v${file.version}` : file.role;
        assert.equal(file.path, `metadata/${name}.json`);
        assert.equal(
          file.url,
          file.kind === 'version' ? `${file.version}.${file.role}.json` : `${file.role}.json`
        );
        assert.ok(!bytes.includes('\n'), `${file.path}: Notary writes no newline`);
      }
      const listed = new Set(capture.files.map((f) => f.path));
      assert.equal(listed.size, capture.files.length, 'no file listed twice');
      for (const p of listFiles(join(dir, 'metadata'))) {
        assert.ok(
          listed.has(relative(dir, p)),
          `${relative(dir, p)} is on disk but not in capture.json`
        );
      }
    });

    it('has every version of every role, and current files equal to the newest', () => {
      const roles = new Set(capture.files.map((f) => f.role));
      for (const base of ['root', 'targets', 'snapshot', 'timestamp'])
        assert.ok(roles.has(base), base);
      for (const role of roles) {
        const have = versions(files, role).map((f) => f.file.version);
        const absent = capture.absentVersions.filter((a) => a.role === role).map((a) => a.version);
        const newest = Math.max(...have);
        assert.deepEqual(
          [...have, ...absent].sort((a, b) => a - b),
          Array.from({ length: newest }, (_, i) => i + 1),
          `${role}: versions 1..${newest} are each captured or recorded absent`
        );
        const current = files.filter((f) => f.file.kind === 'current' && f.file.role === role);
        assert.equal(current.length, 1, `${role}: one current file`);
        assert.equal(current[0]?.file.version, newest);
        assert.ok(
          current[0]?.bytes.equals(versions(files, role).at(-1)!.bytes),
          `${role}.json = ${newest}.${role}.json`
        );
      }
    });

    it("every timestamp's snapshot meta matches a captured snapshot's exact bytes", () => {
      const snapshots = versions(files, 'snapshot');
      for (const ts of versions(files, 'timestamp')) {
        const meta = ts.doc.signed.meta?.snapshot;
        assert.ok(meta, `${ts.file.path}: meta.snapshot`);
        assert.deepEqual(Object.keys(meta.hashes).sort(), ['sha256', 'sha512']);
        const match = snapshots.filter((s) => describes(meta, s.bytes));
        assert.equal(match.length, 1, `${ts.file.path}: its snapshot is captured`);
        assert.ok(
          match[0]!.file.step <= ts.file.step,
          `${ts.file.path}: points at an earlier or same-step snapshot`
        );
      }
      const newest = versions(files, 'timestamp').at(-1)!;
      assert.ok(
        describes(newest.doc.signed.meta!.snapshot!, snapshots.at(-1)!.bytes),
        'newest timestamp → newest snapshot'
      );
    });

    it("every snapshot's meta entries match captured root, targets and delegation files", () => {
      for (const snap of versions(files, 'snapshot')) {
        const meta = snap.doc.signed.meta ?? {};
        assert.ok(meta.root && meta.targets, `${snap.file.path}: lists root and targets`);
        for (const [role, entry] of Object.entries(meta)) {
          const match = versions(files, role).filter((f) => describes(entry, f.bytes));
          assert.equal(match.length, 1, `${snap.file.path}: its ${role} entry is a captured file`);
        }
      }
      const newest = versions(files, 'snapshot').at(-1)!;
      for (const [role, entry] of Object.entries(newest.doc.signed.meta!)) {
        assert.ok(
          describes(entry, versions(files, role).at(-1)!.bytes),
          `newest snapshot → newest ${role}`
        );
      }
    });

    it('key IDs are sha256 of the canonical key, and every signature verifies', () => {
      for (const { doc, file } of files) {
        for (const [id, key] of Object.entries({
          ...doc.signed.keys,
          ...doc.signed.delegations?.keys,
        })) {
          assert.equal(keyId(key.keytype, key.keyval.public), id, `${file.path}: key ${id}`);
          assert.equal(key.keyval.private, null);
        }
      }
      for (const f of files.filter((x) => x.file.kind === 'version')) {
        const { role, step, version } = f.file;
        if (role === 'root') {
          const roles = [f.doc.signed.roles!.root!];
          const keys = { ...f.doc.signed.keys };
          const previous = roots.find((r) => r.file.version === version - 1);
          if (previous) {
            roles.push(previous.doc.signed.roles!.root!);
            Object.assign(keys, previous.doc.signed.keys);
          }
          assertSigned(f, keys, roles);
        } else if (role.startsWith('targets/')) {
          const parentRole = role.slice(0, role.lastIndexOf('/'));
          const parent = inEffect(files, parentRole, step);
          const entry = parent?.doc.signed.delegations?.roles.find((r) => r.name === role);
          assert.ok(parent && entry, `${f.file.path}: delegated by ${parentRole}`);
          assertSigned(f, parent.doc.signed.delegations!.keys, [entry]);
        } else {
          const root = inEffect(files, 'root', step);
          assert.ok(root, `${f.file.path}: a root was in effect`);
          assertSigned(f, root.doc.signed.keys!, [root.doc.signed.roles![role]!]);
        }
      }
    });

    it('root certificates are the PEM the root carries, CN = GUN, leaf only', () => {
      assert.ok(capture.certificates.length >= 1);
      for (const c of capture.certificates) {
        const pem = readFileSync(join(dir, c.path));
        const root = roots.find((r) => r.file.version === c.rootVersions[0]);
        assert.equal(root?.doc.signed.keys?.[c.keyId]?.keyval.public, pem.toString('base64'));
        const cert = new X509Certificate(pem);
        assert.equal(cert.subject, `CN=${capture.gun}`);
        assert.equal(cert.ca, false);
        assert.equal(keyId(c.keytype, pem.toString('base64')), c.keyId);
      }
      const certFiles = listFiles(join(dir, 'certs')).map((p) => relative(dir, p));
      assert.deepEqual(certFiles.sort(), capture.certificates.map((c) => c.path).sort());
    });

    it('private keys open with the documented passphrases and are named by canonical key ID', () => {
      const onDisk = listFiles(join(dir, 'private')).map((p) => relative(dir, p));
      assert.deepEqual(onDisk.sort(), capture.privateKeys.map((k) => k.path).sort());
      const ids = new Set<string>();
      for (const k of capture.privateKeys) {
        const text = readFileSync(join(dir, k.path), 'utf8');
        assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
        assert.match(text, new RegExp(`^role: ${k.role}$`, 'm'));
        // Notary's PEM carries `role:`/`gun:` headers that OpenSSL does not expect; drop them.
        const pem = text.replace(/^[a-z]+: .*\n/gm, '').replace(/-----\n\n/, '-----\n');
        const key = createPrivateKey({
          key: pem,
          format: 'pem',
          passphrase: capture.passphrases[k.passphrase],
        });
        assert.equal(canonicalId(createPublicKey(key)), k.canonicalKeyId, k.path);
        ids.add(k.canonicalKeyId);
      }
      // The private key behind every root certificate is here.
      for (const c of capture.certificates) {
        const cert = new X509Certificate(readFileSync(join(dir, c.path)));
        assert.ok(
          ids.has(canonicalId(cert.publicKey)),
          `private key of root certificate ${c.keyId}`
        );
      }
    });
  });
}

// ---- what each scenario was captured to show -----------------------------------------------------

function rootKeyTypes(doc: Envelope): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [role, r] of Object.entries(doc.signed.roles!))
    out[role] = r.keyids.map((id) => doc.signed.keys![id]!.keytype);
  return out;
}
const newest = (files: Loaded[], role: string): Loaded => versions(files, role).at(-1)!;
const methods = (doc: Envelope): string[] => doc.signatures.map((s) => s.method);

describe('scenario facts', () => {
  it('ecdsa-root: ecdsa-x509 root, HTML-escaped and raw UTF-8 target names, snapshot moved to the server', () => {
    const { files } = load('ecdsa-root');
    const [v1, v2] = versions(files, 'root');
    assert.deepEqual(rootKeyTypes(v1!.doc), {
      root: ['ecdsa-x509'],
      snapshot: ['ecdsa'],
      targets: ['ecdsa'],
      timestamp: ['ed25519'],
    });
    assert.deepEqual(rootKeyTypes(v2!.doc), {
      root: ['ecdsa-x509'],
      snapshot: ['ed25519'],
      targets: ['ecdsa'],
      timestamp: ['ed25519'],
    });
    assert.deepEqual(methods(v1!.doc), ['ecdsa']);
    assert.deepEqual(methods(newest(files, 'snapshot').doc), ['eddsa']);
    assert.deepEqual(
      methods(versions(files, 'snapshot')[0]!.doc),
      ['ecdsa'],
      'client-signed before the rotation'
    );
    const t = newest(files, 'targets');
    assert.ok(t.bytes.includes('"v2\\u003c\\u0026\\u003e"'), 'stored as \\u003c\\u0026\\u003e');
    assert.ok(t.bytes.includes(Buffer.from('"ünïcødé-☃"', 'utf8')), 'non-ASCII stored raw');
    assert.deepEqual(Object.keys(t.doc.signed.targets!).sort(), ['v2<&>', 'v3', 'v4', 'ünïcødé-☃']);
    assert.deepEqual(t.doc.signed.targets!.v4!.custom, {
      sbom: 'https://example.com/sbom/v4.json',
      tags: ['stable', 'v4'],
    });
    assert.deepEqual(t.doc.signed.delegations, { keys: {}, roles: [] });
  });

  it('delegation: x509 delegation keys; releases and alice hold the tags the resolution-order tests need', () => {
    const { files } = load('delegation');
    const t = newest(files, 'targets').doc.signed;
    assert.deepEqual(t.delegations!.roles.map((r) => [r.name, r.paths, r.threshold]).sort(), [
      ['targets/alice', [''], 1],
      ['targets/releases', [''], 1],
    ]);
    assert.ok(Object.values(t.delegations!.keys).every((k) => k.keytype === 'ecdsa-x509'));
    const releases = newest(files, 'targets/releases').doc.signed.targets!;
    const alice = newest(files, 'targets/alice').doc.signed.targets!;
    assert.deepEqual(Object.keys(t.targets!).sort(), ['top-only', 'v1']);
    assert.deepEqual(Object.keys(releases).sort(), ['v1', 'v2']);
    assert.deepEqual(Object.keys(alice), ['alice-only']);
    assert.notEqual(
      releases.v1!.hashes.sha256,
      t.targets!.v1!.hashes.sha256,
      'v1 differs between releases and targets'
    );
  });

  it('root-rotation: each rotated root is signed by the old and the new root key; client zone kept', () => {
    const { files } = load('root-rotation');
    const roots = versions(files, 'root');
    assert.deepEqual(
      roots.map((r) => r.file.version),
      [1, 2, 3]
    );
    for (let i = 1; i < roots.length; i++) {
      const [prev, cur] = [roots[i - 1]!.doc.signed, roots[i]!.doc];
      const want = [cur.signed.roles!.root!.keyids[0], prev.roles!.root!.keyids[0]].sort();
      assert.notEqual(want[0], want[1]);
      assert.deepEqual(cur.signatures.map((s) => s.keyid).sort(), want);
      assert.ok(
        prev.roles!.root!.keyids.every((id) => id in cur.signed.keys!),
        'old root keys stay in keys'
      );
    }
    assert.match(roots[2]!.doc.signed.expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+05:30$/);
    assert.match(
      newest(files, 'timestamp').doc.signed.expires,
      /Z$/,
      'the server signs in its own zone'
    );
  });

  it('rsa-root: rsa-x509 root from an openssl PKCS#8 key, signed with rsapss', () => {
    const { dir, files } = load('rsa-root');
    const root = versions(files, 'root')[0]!.doc;
    assert.deepEqual(rootKeyTypes(root).root, ['rsa-x509']);
    assert.deepEqual(methods(root), ['rsapss']);
    const cert = new X509Certificate(
      Buffer.from(root.signed.keys![root.signed.roles!.root!.keyids[0]!]!.keyval.public, 'base64')
    );
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
    assert.equal(cert.ca, false);
    const basicConstraintsOid = Buffer.from('0603551d13', 'hex'); // 2.5.29.19
    assert.ok(!cert.raw.includes(basicConstraintsOid), 'no basicConstraints extension at all');
    const input = readFileSync(join(dir, 'input/root-key.pkcs8.pem'), 'utf8');
    assert.match(input, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    const key = createPrivateKey({
      key: input,
      passphrase: load('rsa-root').capture.passphrases.root,
    });
    assert.equal(canonicalId(createPublicKey(key)), canonicalId(cert.publicKey));
  });

  it('docker: server-held snapshot from the start, plain ecdsa signer keys, a sha256-only tag', () => {
    const { dir, files } = load('docker');
    const root = versions(files, 'root')[0]!.doc;
    assert.deepEqual(rootKeyTypes(root), {
      root: ['ecdsa-x509'],
      snapshot: ['ed25519'],
      targets: ['ecdsa'],
      timestamp: ['ed25519'],
    });
    assert.equal(versions(files, 'snapshot')[0]!.file.version, 1, 'the server made snapshot v1');
    assert.equal(versions(files, 'targets')[0]!.file.version, 2, 'docker publishes targets as v2');
    const t = newest(files, 'targets').doc.signed;
    assert.deepEqual(t.delegations!.roles.map((r) => r.name).sort(), [
      'targets/releaser',
      'targets/releases',
    ]);
    assert.ok(Object.values(t.delegations!.keys).every((k) => k.keytype === 'ecdsa'));
    const manifest = readFileSync(join(dir, 'payloads/manifest.json'));
    const latest = newest(files, 'targets/releases').doc.signed.targets!.latest!;
    assert.deepEqual(latest, {
      hashes: { sha256: sha('sha256', manifest, 'base64') },
      length: manifest.length,
    });
    const inspect = JSON.parse(readFileSync(join(dir, 'docker-trust-inspect.json'), 'utf8')) as {
      SignedTags: { SignedTag: string; Digest: string }[];
    }[];
    assert.deepEqual(
      inspect[0]!.SignedTags.map((s) => [s.SignedTag, s.Digest]),
      [['latest', sha('sha256', manifest, 'hex')]]
    );
  });

  it('ecdsa-signer: notary-signer makes ecdsa timestamp and snapshot keys', () => {
    const { files } = load('ecdsa-signer');
    const root = newest(files, 'root').doc;
    assert.deepEqual(rootKeyTypes(root), {
      root: ['ecdsa-x509'],
      snapshot: ['ecdsa'],
      targets: ['ecdsa'],
      timestamp: ['ecdsa'],
    });
    assert.deepEqual(methods(newest(files, 'timestamp').doc), ['ecdsa']);
    assert.deepEqual(methods(newest(files, 'snapshot').doc), ['ecdsa']);
  });
});

// ---- reference HTTP exchanges --------------------------------------------------------------------

describe('fixtures/notary/ecdsa-root/http', () => {
  const dir = fixturePath('notary', 'ecdsa-root');
  const index = JSON.parse(readFileSync(join(dir, 'http/index.json'), 'utf8')) as {
    name: string;
    method: string;
    path: string;
    status: number;
    requestBody: string | null;
    responseHeaders: string;
    responseBody: string;
  }[];
  const byName = new Map(index.map((e) => [e.name, e]));
  const body = (name: string): Buffer => readFileSync(join(dir, byName.get(name)!.responseBody));
  const errorCode = (name: string): string =>
    (JSON.parse(body(name).toString('utf8')) as { errors: { code: string }[] }).errors[0]!.code;

  it('index.json lists real files whose status line and length agree', () => {
    for (const e of index) {
      const headers = readFileSync(join(dir, e.responseHeaders), 'latin1');
      assert.match(headers, new RegExp(`^HTTP/1\\.1 ${e.status} `));
      assert.ok(headers.endsWith('\r\n\r\n'));
      const len = /^Content-Length: (\d+)\r$/im.exec(headers);
      if (len) assert.equal(Number(len[1]), body(e.name).length, `${e.name} Content-Length`);
      if (e.requestBody) assert.ok(existsSync(join(dir, e.requestBody)));
    }
  });

  it('the bodies are the captured metadata', () => {
    const read = (p: string): Buffer => readFileSync(join(dir, 'metadata', p));
    assert.ok(body('get-current-timestamp').equals(read('timestamp.json')));
    assert.ok(body('get-current-targets').equals(read('targets.json')));
    assert.ok(body('get-current-root').equals(read('root.json')));
    assert.ok(body('get-by-version-root').equals(read('root.v1.json')));
    const hex = /snapshot\.([0-9a-f]{64})\.json$/.exec(
      byName.get('get-by-checksum-snapshot')!.path
    )![1];
    assert.equal(sha('sha256', body('get-by-checksum-snapshot'), 'hex'), hex);
    const root = JSON.parse(read('root.json').toString('utf8')) as Envelope;
    for (const role of ['timestamp', 'snapshot']) {
      const key = JSON.parse(body(`get-${role}-key`).toString('utf8')) as Key;
      assert.deepEqual(root.signed.roles![role]!.keyids, [keyId(key.keytype, key.keyval.public)]);
    }
  });

  it('errors carry the documented codes', () => {
    for (const n of ['get-404-version', 'get-404-unknown-gun', 'get-404-delegation']) {
      assert.equal(byName.get(n)!.status, 404);
      assert.equal(errorCode(n), 'METADATA_NOT_FOUND');
    }
    assert.equal(errorCode('post-garbage-part'), 'MALFORMED_JSON');
    assert.equal(errorCode('post-invalid-role'), 'INVALID_ROLE');
    assert.equal(errorCode('post-not-multipart'), 'MALFORMED_UPLOAD');
    assert.equal(errorCode('post-stale-version'), 'VERSION');
    assert.equal(errorCode('post-bad-signature'), 'INVALID_UPDATE');
  });
});
