#!/usr/bin/env node
// Writes <scenario>/capture.json and <scenario>/certs/*.pem for scripts/capture-notary.sh.
// Usage: node manifest.mjs <scenarioDir> <files.tsv> <steps.tsv> <absent.tsv> <meta.json> <final-keys.txt>
//   files.tsv:  kind \t role \t version \t path (relative to scenarioDir) \t url \t step
//   steps.tsv:  step \t command
//   absent.tsv: role \t version \t step   (versions the server never had: 404 on N.role.json)
//   meta.json:  scenario-level fields copied into capture.json as they are
//   final-keys.txt: names of the key files still in the trust dir at the end
// Hashes and lengths are computed here from the bytes on disk, so capture.json cannot drift from
// the files it lists.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, filesTsv, stepsTsv, absentTsv, metaPath, finalKeysPath] = process.argv.slice(2);
if (!finalKeysPath) {
  console.error(
    'usage: manifest.mjs <scenarioDir> <files.tsv> <steps.tsv> <absent.tsv> <meta.json> <final-keys.txt>'
  );
  process.exit(2);
}

const rows = (p) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));

const steps = rows(stepsTsv).map(([step, command]) => ({ step: Number(step), command }));
const commandOf = new Map(steps.map((s) => [s.step, s.command]));

const files = rows(filesTsv).map(([kind, role, version, path, url, step]) => {
  const bytes = readFileSync(join(dir, path));
  return {
    path,
    kind,
    role,
    version: Number(version),
    url,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    length: bytes.length,
    step: Number(step),
    command: commandOf.get(Number(step)),
  };
});

const absentVersions = rows(absentTsv).map(([role, version, step]) => ({
  role,
  version: Number(version),
  step: Number(step),
}));

// Root certificates exactly as the root metadata carries them (base64 of the PEM text).
const certificates = new Map();
for (const f of files.filter((x) => x.kind === 'version' && x.role === 'root')) {
  const root = JSON.parse(readFileSync(join(dir, f.path), 'utf8')).signed;
  for (const keyId of root.roles.root.keyids) {
    const key = root.keys[keyId];
    if (!key.keytype.endsWith('-x509')) continue;
    let entry = certificates.get(keyId);
    if (!entry) {
      const pem = Buffer.from(key.keyval.public, 'base64');
      const path = `certs/root-${keyId}.pem`;
      mkdirSync(join(dir, 'certs'), { recursive: true });
      writeFileSync(join(dir, path), pem);
      const cert = new X509Certificate(pem);
      entry = {
        path,
        keyId,
        keytype: key.keytype,
        subject: cert.subject,
        notBefore: cert.validFrom,
        notAfter: cert.validTo,
        ca: cert.ca,
        rootVersions: [],
      };
      certificates.set(keyId, entry);
    }
    entry.rootVersions.push(f.version);
  }
}

// Private keys of the trust directory: notary's own PEM files, with `role:`/`gun:` headers.
const finalKeys = new Set(readFileSync(finalKeysPath, 'utf8').split('\n').filter(Boolean));
const privateKeys = [];
const privDir = join(dir, 'private');
for (const name of readdirSync(privDir).sort()) {
  const text = readFileSync(join(privDir, name), 'utf8');
  const header = (h) => new RegExp(`^${h}: (.*)$`, 'm').exec(text)?.[1] ?? null;
  const role = header('role');
  privateKeys.push({
    path: `private/${name}`,
    canonicalKeyId: name.replace(/\.key$/, ''),
    role,
    gun: header('gun'),
    passphrase: role === 'root' ? 'root' : 'repository',
    // false: the CLI deleted it from the trust dir (e.g. the snapshot key after `rotate -r`)
    inTrustDirAtEnd: finalKeys.has(name),
  });
}

const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const manifest = {
  ...meta,
  steps,
  files,
  absentVersions,
  certificates: [...certificates.values()],
  privateKeys,
};
writeFileSync(join(dir, 'capture.json'), JSON.stringify(manifest, null, 2) + '\n');
