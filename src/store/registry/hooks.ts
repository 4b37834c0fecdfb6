/**
 * The registries and the review policy joined to the certification chain through the store's
 * hooks (src/store/hooks.ts), as docs/interfaces.md "Registries and review policy" describes:
 *
 * - verification: `registry-manifest` and `registry-blobs` against the staging registry;
 * - policy: the hygiene checks of the image the signed digest names, then `vulnerabilities`
 *   from the report attached last;
 * - publish: the image copied by digest from the staging repository to the public one (a
 *   mount within one registry) and tagged, before any public metadata is written.
 *
 * A registry that cannot be reached (NETWORK, REGISTRY_AUTH) says nothing about the image: its
 * checks are recorded as `inconclusive`, and the submission waits for `POST …/verify`.
 */
import { CountersignError, isCountersignError } from '../../errors.js';
import { progressListener } from '../../jobs/progress.js';
import { hygieneChecks } from '../../policy/hygiene.js';
import { budgetEnabled, type ReviewPolicy } from '../../policy/types.js';
import { RegistryClient } from '../../registry/client.js';
import { copyImage } from '../../registry/copy.js';
import { inspectImage } from '../../registry/image.js';
import { checkBlobs, checkManifest } from '../../registry/integrity.js';
import { repositoryForGun } from '../../registry/names.js';
import type { Logger } from '../../util/log.js';
import type { PublishContext, StoreHooks, VerificationContext } from '../hooks.js';
import { vulnerabilitiesCheck } from '../policy-review.js';
import type { PolicyCheckRecord, SubmissionCheck } from '../submission.js';
import { hygieneNames, type RegistryEndpoint, type StoreReview } from './settings.js';

export interface Registry {
  readonly client: RegistryClient;
  readonly repositoryPrefix: string;
}

export interface ReviewHooks extends StoreHooks {
  /** Closes the registry clients' idle connections. */
  close(): void;
}

export interface ReviewHooksOptions {
  readonly review: StoreReview;
  readonly log: Logger;
  /** Per-request inactivity timeout of the registry clients (default the client's 30 s). */
  readonly timeoutMs?: number;
}

export function registryFor(endpoint: RegistryEndpoint, timeoutMs?: number): Registry {
  return {
    client: new RegistryClient({
      url: endpoint.url,
      ...(endpoint.ca !== undefined ? { ca: endpoint.ca } : {}),
      ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
      ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    }),
    repositoryPrefix: endpoint.repositoryPrefix,
  };
}

/** The hooks the configuration asks for; none at all without registries or a policy. */
export function reviewHooks(o: ReviewHooksOptions): ReviewHooks {
  const staging = o.review.staging && registryFor(o.review.staging, o.timeoutMs);
  const pub = o.review.public && registryFor(o.review.public, o.timeoutMs);
  const policy = o.review.policy;
  const policyEnabled =
    hygieneNames(policy).length > 0 || budgetEnabled(policy.vulnerabilityBudget);
  return {
    ...(staging ? { verificationChecks: [(ctx) => integrityChecks(staging, ctx)] } : {}),
    ...(policyEnabled ? { policyChecks: [(ctx) => reviewChecks(policy, staging, ctx)] } : {}),
    ...(staging && pub ? { beforePublish: [(ctx) => promote(staging, pub, o.log, ctx)] } : {}),
    close() {
      staging?.client.close();
      pub?.client.close();
    },
  };
}

/** NETWORK and REGISTRY_AUTH: the registry did not answer, or refused our credentials. */
export function isUnreachable(err: unknown): err is CountersignError {
  return isCountersignError(err, 'NETWORK') || isCountersignError(err, 'REGISTRY_AUTH');
}

async function integrityChecks(
  registry: Registry,
  ctx: VerificationContext
): Promise<SubmissionCheck[]> {
  const names = ['registry-manifest', 'registry-blobs'] as const;
  const target = ctx.target;
  if (!target) {
    return names.map((name) => ({
      name,
      passed: false,
      detail: `staging signs no target ${ctx.submission.tag}, so there is no digest to look up in the registry`,
    }));
  }
  let repo: string;
  try {
    repo = repositoryForGun(ctx.submission.gun, registry.repositoryPrefix);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return names.map((name) => ({ name, passed: false, detail }));
  }
  const manifest = await guarded('registry-manifest', registry, ctx, () =>
    checkManifest(registry.client, repo, ctx.submission.tag, {
      sha256Hex: target.digest.slice('sha256:'.length),
      length: target.length,
    })
  );
  const blobs = await guarded('registry-blobs', registry, ctx, () =>
    checkBlobs(registry.client, repo, target.digest, progressListener('verify'))
  );
  return [manifest, blobs];
}

/** A check that throws: an outage is inconclusive; any other registry error is a failed check. */
async function guarded(
  name: string,
  registry: Registry,
  ctx: VerificationContext,
  run: () => Promise<SubmissionCheck>
): Promise<SubmissionCheck> {
  try {
    return await run();
  } catch (err) {
    if (isUnreachable(err)) {
      return {
        name,
        passed: false,
        inconclusive: true,
        detail: `${unreachable(registry, err)}; nothing was decided about the image: verify again (POST /api/v1/submissions/${ctx.submission.id}/verify) once the registry answers`,
      };
    }
    if (err instanceof CountersignError) return { name, passed: false, detail: err.message };
    throw err;
  }
}

function unreachable(registry: Registry, err: CountersignError): string {
  const what =
    err.code === 'REGISTRY_AUTH' ? 'refused the store’s credentials' : 'could not be reached';
  return `the staging registry ${registry.client.url} ${what} (${err.message})`;
}

/**
 * The policy checks: hygiene from the image the signed digest names (every platform of an
 * index), then `vulnerabilities` from the report attached last.
 */
async function reviewChecks(
  policy: ReviewPolicy,
  registry: Registry | undefined,
  ctx: VerificationContext
): Promise<PolicyCheckRecord[]> {
  const checks: PolicyCheckRecord[] = [];
  const hygiene = hygieneNames(policy);
  if (hygiene.length > 0 && registry) {
    const failAll = (detail: string, inconclusive = false) =>
      checks.push(
        ...hygiene.map((name) => ({
          name,
          passed: false,
          detail,
          ...(inconclusive ? { inconclusive: true as const } : {}),
        }))
      );
    const target = ctx.target;
    if (!target) {
      failAll(`staging signs no target ${ctx.submission.tag}: there is no image to inspect`);
    } else {
      try {
        const repo = repositoryForGun(ctx.submission.gun, registry.repositoryPrefix);
        checks.push(
          ...hygieneChecks(policy, await inspectImage(registry.client, repo, target.digest))
        );
      } catch (err) {
        if (isUnreachable(err)) failAll(`not inspected: ${unreachable(registry, err)}`, true);
        else if (err instanceof CountersignError)
          failAll(`the image ${target.digest} could not be inspected: ${err.message}`);
        else throw err;
      }
    }
  }
  const vulnerabilities = vulnerabilitiesCheck(policy, ctx.submission);
  if (vulnerabilities) checks.push(vulnerabilities);
  return checks;
}

/**
 * Copies the signed digest from the staging repository to the public one and tags it; skipped
 * blobs and manifests make a re-run cheap. A failure stops the publish: the store records it on
 * the submission and writes no public metadata.
 */
async function promote(
  staging: Registry,
  pub: Registry,
  log: Logger,
  ctx: PublishContext
): Promise<void> {
  const { submission, target } = ctx;
  const source = repositoryForGun(submission.gun, staging.repositoryPrefix);
  const dest = repositoryForGun(submission.publicGun, pub.repositoryPrefix);
  try {
    const report = await copyImage({
      source: { client: staging.client, repo: source },
      target: { client: pub.client, repo: dest },
      digest: target.digest,
      tag: submission.tag,
      // A publish run as a job shows the copy's progress (src/jobs/progress.ts).
      onProgress: progressListener('copy'),
    });
    log.info(
      {
        submission: submission.id,
        from: `${staging.client.url}/${source}`,
        to: `${pub.client.url}/${dest}:${submission.tag}`,
        digest: target.digest,
        mounted: report.blobs.mounted.length,
        uploaded: report.blobs.uploaded.length,
        present: report.blobs.present.length,
      },
      'image promoted to the public registry'
    );
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CountersignError(
      isUnreachable(err) ? 'unavailable' : 'conflict',
      `not published: copying ${target.digest} from ${staging.client.url}/${source} to ${pub.client.url}/${dest}:${submission.tag} failed (${reason})`,
      { cause: err }
    );
  }
}
