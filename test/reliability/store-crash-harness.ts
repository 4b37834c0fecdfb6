/**
 * Crash safety of the store's publish (docs/reliability.md "Crash safety"): reviewers approve
 * submissions one after another (with `autoPublish`, each approval promotes the image in the
 * registry and signs it into the public repository) while `countersign serve` is killed with
 * SIGKILL at random moments and restarted on the same data dir. After every restart:
 *
 * - no submission is left between states: nothing stays `submitted` or `approved` (an approval
 *   whose publish was cut off is published by the recovery at start);
 * - every approval the reviewer saw answered `published` is in the public repository;
 * - the public metadata and the registry agree: every tag the public targets sign resolves, in
 *   the public registry repository, to the signed digest; every `published` submission's tag is
 *   signed, and every signed tag belongs to a `published` submission;
 * - the audit chain verifies, `countersign verify` pinned to the store CA (a fresh client)
 *   verifies the newest tag, the public timestamp never goes back, and `integrity_check` is `ok`.
 *
 * Approvals that the kill cut off before the review was recorded leave the submission `verified`;
 * they are approved again in the next round. `test/reliability/store-crash.test.ts` runs a few
 * kills in `npm test`; `npm run crash -- --store --kills 20` the long run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { skopeoDigest } from '../helpers/images.js';
import { tufPath } from '../helpers/notary-http.js';
import { sleep } from '../helpers/proc.js';
import { startStoreFixture, type StoreFixture, type StoreUser } from '../helpers/store-fixture.js';
import { SYSTEM_ACTOR } from '../../src/store/audit.js';
import { integrityCheck, prng } from './crash-harness.js';

const STAGING = 'staging.store.test/acme/crash';
const PUBLIC = 'store.test/acme/crash';

export interface StoreCrashOptions {
  readonly kills: number;
  /** New tags submitted and approved in each round. */
  readonly tagsPerRound: number;
  readonly seed: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly log?: (line: string) => void;
}

export interface StoreCrashResult {
  readonly kills: number;
  readonly approvalsAttempted: number;
  /** Approvals answered with the submission `published`. */
  readonly publishesAcknowledged: number;
  /** Publishes completed by the recovery at start (approved before a kill, published after). */
  readonly recoveredAtStart: number;
  readonly lost: string[];
  readonly failures: string[];
  readonly durationMs: number;
}

interface Submission {
  readonly id: string;
  readonly state: string;
  readonly tag: string;
}

export async function runStoreCrashHarness(o: StoreCrashOptions): Promise<StoreCrashResult> {
  const log = o.log ?? (() => {});
  const random = prng(o.seed);
  const started = performance.now();
  const cleanup = new Cleanup();
  const lost: string[] = [];
  const failures: string[] = [];
  const acknowledged = new Map<string, string>(); // tag → digest
  let attempted = 0;
  let recovered = 0;
  try {
    const f = await startStoreFixture(cleanup, {
      name: 'store-crash',
      registry: 'staging-and-public',
    });
    const { registry, layout } = f;
    const call: Call = (path, user, body) =>
      f.https(path, { user, ...(body === undefined ? {} : { method: 'POST', body }) });

    // The producer: one image, pushed under every tag the run will use, each signed into staging.
    const tags = Array.from({ length: o.kills * o.tagsPerRound }, (_, i) => `v${i + 1}`);
    const image = await layout.build('crash', { layers: [256 * 1024, 128 * 1024], user: '1000' });
    const manifest = await layout.readBlob(image.digest);
    const manifestFile = join(f.work, 'manifest.json');
    writeFileSync(manifestFile, manifest);
    for (const tag of tags) await layout.push(registry.host, 'crash', `staging/acme/crash:${tag}`);
    await f.delegateReleases(STAGING);
    const acme = await f.notary('acme');
    for (const tag of tags)
      await acme.add(STAGING, tag, manifestFile, { roles: ['targets/releases'] });
    await acme.publish(STAGING);
    const caPem = join(f.work, 'store-ca.pem');

    let highestTimestamp = 0;
    let toApprove: string[] = [];
    for (let kill = 1; kill <= o.kills; kill++) {
      for (const tag of tags.slice((kill - 1) * o.tagsPerRound, kill * o.tagsPerRound)) {
        const r = await call('/api/v1/submissions', 'acme', { gun: STAGING, tag });
        if (r.status !== 201) throw new Error(`submit ${tag}: ${r.status} ${r.body.toString()}`);
        toApprove.push((JSON.parse(r.body.toString()) as Submission).id);
      }
      await waitUntilNone(call, 'submitted', 30_000);
      let stop = false;
      const reviewer = (async () => {
        for (const id of toApprove) {
          if (stop) return;
          attempted++;
          const r = await call(`/api/v1/submissions/${id}/reviews`, 'rev1', {
            decision: 'approve',
            note: 'crash harness',
          }).catch(() => null);
          if (r?.status === 200) {
            const sub = JSON.parse(r.body.toString()) as Submission;
            if (sub.state === 'published') acknowledged.set(sub.tag, image.digest);
          }
        }
      })();
      await sleep(o.minDelayMs + random() * (o.maxDelayMs - o.minDelayMs));
      await f.stop({ kill: true });
      stop = true;
      await reviewer;

      await f.start();
      const problems = (p: string) => failures.push(`kill ${kill}: ${p}`);
      // The recovery at start publishes what was approved; nothing may stay approved or submitted.
      for (const state of ['approved', 'submitted']) {
        if (!(await waitUntilNone(call, state, 60_000)))
          problems(`submissions left ${state} a minute after the restart`);
      }
      const recoveredNow = (await recoveredPublishes(call)) - recovered;
      recovered += recoveredNow;
      const published = await listSubmissions(call, 'published');
      const signed = await publicTargets(f);
      for (const [tag, digest] of acknowledged) {
        if (signed.get(tag) !== digest.replace(/^sha256:/, ''))
          lost.push(`kill ${kill}: acknowledged ${tag} is not signed to ${digest}`);
      }
      for (const [tag, hex] of signed) {
        const inRegistry = await skopeoDigest(registry.host, `public/acme/crash:${tag}`).catch(
          (e: Error) => e.message.split('\n')[0]
        );
        if (inRegistry !== `sha256:${hex}`)
          problems(
            `public tag ${tag} is signed to sha256:${hex} but the registry has ${inRegistry}`
          );
      }
      const publishedTags = new Set(published.map((s) => s.tag));
      for (const tag of publishedTags)
        if (!signed.has(tag)) problems(`submission for ${tag} is published but not signed`);
      for (const tag of signed.keys())
        if (!publishedTags.has(tag)) problems(`${tag} is signed but no submission is published`);

      const audit = await call('/api/v1/audit/verify', 'admin');
      const chain = JSON.parse(audit.body.toString()) as { ok?: boolean; reason?: string };
      if (chain.ok !== true) problems(`audit chain: ${audit.status} ${chain.reason ?? ''}`);
      const ts = await publicTimestampVersion(f);
      if (ts < highestTimestamp) problems(`public timestamp ${ts} after ${highestTimestamp}`);
      highestTimestamp = Math.max(highestTimestamp, ts);
      const newest = [...signed.keys()].at(-1);
      if (newest !== undefined) {
        writeFileSync(caPem, (await call('/api/v1/store/ca.pem', 'admin')).body);
        const v = await f.verifyPinned(`${PUBLIC}:${newest}`, caPem);
        if (v.code !== 0) problems(`countersign verify ${newest}: ${v.stderr.trim()}`);
      }
      const integrity = integrityCheck(join(f.dataDir, 'countersign.db'));
      if (integrity !== 'ok') problems(`integrity_check: ${integrity}`);
      // Approvals the kill cut off before the review was recorded: approve them next round.
      toApprove = (await listSubmissions(call, 'verified')).map((s) => s.id);
      log(
        `kill ${kill}/${o.kills}: ${acknowledged.size} of ${attempted} approvals acknowledged published, ` +
          `${recoveredNow} recovered at start, ${signed.size} public tags, timestamp v${ts}`
      );
    }
  } finally {
    await cleanup.run();
  }
  return {
    kills: o.kills,
    approvalsAttempted: attempted,
    publishesAcknowledged: acknowledged.size,
    recoveredAtStart: recovered,
    lost,
    failures,
    durationMs: Math.round(performance.now() - started),
  };
}

type Call = (
  path: string,
  user: StoreUser,
  body?: unknown
) => Promise<{ status: number; body: Buffer }>;

async function listSubmissions(call: Call, state: string): Promise<Submission[]> {
  const r = await call(`/api/v1/submissions?state=${state}&limit=1000`, 'admin');
  if (r.status !== 200) throw new Error(`list ${state}: ${r.status} ${r.body.toString()}`);
  return (JSON.parse(r.body.toString()) as { submissions: Submission[] }).submissions;
}

/** Publishes made by the server itself: the recovery at start (audit actor `countersign`). */
async function recoveredPublishes(call: Call): Promise<number> {
  const r = await call('/api/v1/audit?limit=10000', 'admin');
  if (r.status !== 200) throw new Error(`audit: ${r.status} ${r.body.toString()}`);
  const { entries } = JSON.parse(r.body.toString()) as {
    entries: { actor: string; action: string }[];
  };
  return entries.filter((e) => e.actor === SYSTEM_ACTOR && e.action === 'submission.published')
    .length;
}

/** Whether no submission is in `state`, polled for up to `ms`. */
async function waitUntilNone(call: Call, state: string, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while ((await listSubmissions(call, state)).length > 0) {
    if (performance.now() > until) return false;
    await sleep(200);
  }
  return true;
}

/** The public repository's signed tags → sha256 hex (empty before the first publish). */
async function publicTargets(f: StoreFixture): Promise<Map<string, string>> {
  const r = await f.https(tufPath(PUBLIC, 'targets.json'));
  if (r.status === 404) return new Map();
  const targets = (
    JSON.parse(r.body.toString()) as {
      signed: { targets: Record<string, { hashes: { sha256: string } }> };
    }
  ).signed.targets;
  return new Map(
    Object.entries(targets).map(([tag, t]) => [
      tag,
      Buffer.from(t.hashes.sha256, 'base64').toString('hex'),
    ])
  );
}

async function publicTimestampVersion(f: StoreFixture): Promise<number> {
  const r = await f.https(tufPath(PUBLIC, 'timestamp.json'));
  if (r.status === 404) return 0;
  return (JSON.parse(r.body.toString()) as { signed: { version: number } }).signed.version;
}
