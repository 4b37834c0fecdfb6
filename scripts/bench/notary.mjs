// The real notary CLI (Debian package, 0.7) as the publishing client: one trust directory per
// server, the same repositories built on each. Large target sets are staged by writing the
// CLI's own changelist files (the format is checked against one `notary addhash` first), then
// published in one `notary publish`, exactly as a client staging many `addhash` would.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, pinned, run, runChecked } from './procs.mjs';

const PASSPHRASE = 'countersign-bench-passphrase';

/** Deterministic target i: the same names, sizes and digests on every server. */
export function target(prefix, i) {
  return {
    name: `${prefix}${i}`,
    length: 1024 + i,
    sha256: createHash('sha256').update(`${prefix}${i}`).digest(),
  };
}

export class NotaryCli {
  constructor(serverUrl, cpus) {
    this.cpus = cpus;
    this.dir = makeTempDir('bench-notary-client-');
    this.trustDir = join(this.dir, 'trust');
    mkdirSync(this.trustDir);
    this.configFile = join(this.dir, 'config.json');
    writeFileSync(
      this.configFile,
      JSON.stringify({ trust_dir: this.trustDir, remote_server: { url: serverUrl } })
    );
    this.env = {
      PATH: process.env.PATH,
      HOME: this.dir,
      TMPDIR: this.dir,
      NOTARY_ROOT_PASSPHRASE: PASSPHRASE,
      NOTARY_TARGETS_PASSPHRASE: PASSPHRASE,
      NOTARY_SNAPSHOT_PASSPHRASE: PASSPHRASE,
      NOTARY_DELEGATION_PASSPHRASE: PASSPHRASE,
    };
  }

  /** `notary -c CONFIG args…` pinned to the client core; resolves with the run (and its ms). */
  async run(args, { check = true } = {}) {
    const [cmd, argv] = pinned(this.cpus, 'notary', ['-c', this.configFile, ...args]);
    const r = await (check ? runChecked : run)(cmd, argv, {
      env: this.env,
      cwd: this.dir,
      timeoutMs: 600_000,
    });
    // notary prints "* fatal: …" on stdout with exit 1; runChecked covers that, and a zero exit
    // with a fatal line would be a client bug worth seeing.
    if (check && /fatal:/.test(r.stdout)) throw new Error(`notary ${args.join(' ')}: ${r.stdout}`);
    return r;
  }

  /** A repository whose timestamp and snapshot keys the server holds (as docker creates them). */
  async createRepo(gun) {
    await this.run(['init', gun, '-p']);
    await this.run(['key', 'rotate', gun, 'snapshot', '-r']);
  }

  changelistDir(gun) {
    return join(this.trustDir, 'tuf', gun, 'changelist');
  }

  /**
   * Stages targets prefix0 … prefix(n-1). The first goes through `notary addhash` and its change
   * file is the template for the rest, so a change in the CLI's format fails loudly here.
   */
  async stageTargets(gun, prefix, n) {
    const first = target(prefix, 0);
    await this.run([
      'addhash',
      gun,
      first.name,
      String(first.length),
      '--sha256',
      first.sha256.toString('hex'),
    ]);
    const dir = this.changelistDir(gun);
    const files = readdirSync(dir).filter((f) => f.endsWith('.change'));
    if (files.length !== 1)
      throw new Error(`expected one change file in ${dir}, found ${files.length}`);
    const [, stamp] = /^(\d{20})_/.exec(files[0]) ?? [];
    const template = JSON.parse(readFileSync(join(dir, files[0]), 'utf8'));
    const meta = JSON.parse(Buffer.from(template.data, 'base64').toString('utf8'));
    const expected = { length: first.length, hashes: { sha256: first.sha256.toString('base64') } };
    if (
      !stamp ||
      template.action !== 'create' ||
      template.type !== 'target' ||
      template.path !== first.name ||
      JSON.stringify(meta) !== JSON.stringify(expected)
    ) {
      throw new Error(
        `notary's change file format is not the one this benchmark writes: ${JSON.stringify(template)}`
      );
    }
    // File names sort in the order the CLI applies them: a nanosecond clock, then a UUID.
    let t = BigInt(stamp);
    for (let i = 1; i < n; i++) {
      const tg = target(prefix, i);
      const data = Buffer.from(
        JSON.stringify({ length: tg.length, hashes: { sha256: tg.sha256.toString('base64') } })
      ).toString('base64');
      t += 1n;
      writeFileSync(
        join(dir, `${String(t).padStart(20, '0')}_${randomUUID()}.change`),
        JSON.stringify({ ...template, path: tg.name, data })
      );
    }
  }

  publish(gun) {
    return this.run(['publish', gun]);
  }

  /** `notary add -p GUN NAME FILE`: one target, published at once; resolves with the run. */
  addAndPublish(gun, name, file) {
    return this.run(['add', gun, name, file, '-p']);
  }

  /** `notary list GUN` row count (checks a publish really landed). */
  async count(gun) {
    const r = await this.run(['list', gun]);
    return r.stdout.split('\n').filter((l) => /\s[0-9a-f]{64}\s/.test(l)).length;
  }
}
