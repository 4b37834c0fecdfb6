/**
 * Image hygiene checks of the review policy, one named entry per enabled setting (docs/interfaces.md):
 * `size`, `healthcheck`, `user`, `labels`, `layers`. For an index every platform must pass; the
 * detail names the platforms that do not.
 */
import { runConfig, type ImagePlatform, type ImageSummary } from '../registry/image.js';
import type { PolicyCheck, ReviewPolicy } from './types.js';

export function hygieneChecks(policy: ReviewPolicy, image: ImageSummary): PolicyCheck[] {
  const checks: PolicyCheck[] = [];
  if (policy.maxCompressedBytes) checks.push(sizeCheck(policy.maxCompressedBytes, image));
  if (policy.requireHealthcheck) checks.push(healthcheckCheck(image));
  if (policy.requireNonRootUser) checks.push(userCheck(image));
  if (policy.requiredLabels && policy.requiredLabels.length > 0)
    checks.push(labelsCheck(policy.requiredLabels, image));
  if (policy.maxLayers) checks.push(layersCheck(policy.maxLayers, image));
  return checks;
}

/**
 * Config and layer bytes as the registry stores them (compressed), over every platform; a blob
 * shared by several platforms is stored once and counted once.
 */
export function compressedSize(image: ImageSummary): { bytes: number; blobs: number } {
  const sizes = new Map<string, number>();
  for (const p of image.platforms)
    for (const d of [p.configDescriptor, ...p.layers]) sizes.set(d.digest, d.size);
  for (const a of image.attachments) for (const d of a.blobs) sizes.set(d.digest, d.size);
  let bytes = 0;
  for (const size of sizes.values()) bytes += size;
  return { bytes, blobs: sizes.size };
}

function sizeCheck(limit: number, image: ImageSummary): PolicyCheck {
  const { bytes, blobs } = compressedSize(image);
  const scope = `config and layers of ${plural(image.platforms.length, 'platform')}, ${plural(blobs, 'distinct blob')}`;
  return bytes <= limit
    ? {
        name: 'size',
        passed: true,
        detail: `${bytes} compressed bytes (${scope}), within the limit of ${limit}`,
      }
    : {
        name: 'size',
        passed: false,
        detail: `${bytes} compressed bytes (${scope}) exceed the limit of ${limit} by ${bytes - limit}`,
      };
}

/** Docker's `Healthcheck.Test`: `["CMD", …]` or `["CMD-SHELL", cmd]`; `["NONE"]` or `[]` means none. */
export function healthcheckOf(p: ImagePlatform): string[] | undefined {
  const hc = runConfig(p).Healthcheck;
  if (typeof hc !== 'object' || hc === null) return undefined;
  const test = (hc as { Test?: unknown }).Test;
  if (!Array.isArray(test) || test.length === 0 || !test.every((t) => typeof t === 'string'))
    return undefined;
  if (test[0] === 'NONE') return undefined;
  return test;
}

function healthcheckCheck(image: ImageSummary): PolicyCheck {
  return perPlatform('healthcheck', image, (p) => {
    const test = healthcheckOf(p);
    return test
      ? { ok: true, note: `HEALTHCHECK ${test.join(' ')}` }
      : { ok: false, note: 'no HEALTHCHECK in the image config' };
  });
}

/** Root is user `root` or UID 0, whatever the group (`0:1000` is still root). */
export function isRootUser(user: string): boolean {
  const name = user.trim().split(':')[0]!.trim();
  return name === 'root' || /^0+$/.test(name);
}

function userCheck(image: ImageSummary): PolicyCheck {
  return perPlatform('user', image, (p) => {
    const user = runConfig(p).User;
    if (typeof user !== 'string' || user.trim() === '')
      return { ok: false, note: 'no User set, so it runs as root' };
    if (isRootUser(user)) return { ok: false, note: `User ${JSON.stringify(user)} is root` };
    return { ok: true, note: `runs as User ${JSON.stringify(user)}` };
  });
}

function labelsCheck(required: string[], image: ImageSummary): PolicyCheck {
  return perPlatform('labels', image, (p) => {
    const labels = runConfig(p).Labels;
    const have =
      typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>) : {};
    const missing = required.filter((l) => typeof have[l] !== 'string');
    return missing.length === 0
      ? { ok: true, note: `has ${required.join(', ')}` }
      : { ok: false, note: `missing label(s) ${missing.join(', ')}` };
  });
}

function layersCheck(limit: number, image: ImageSummary): PolicyCheck {
  return perPlatform('layers', image, (p) => {
    const n = p.layers.length;
    return n <= limit
      ? { ok: true, note: `${plural(n, 'layer')}, within the limit of ${limit}` }
      : { ok: false, note: `${plural(n, 'layer')}, over the limit of ${limit}` };
  });
}

/**
 * Applies a test to every platform; passes only when all do. A single-platform image reads
 * like a plain sentence, an index lists each platform's result.
 */
function perPlatform(
  name: PolicyCheck['name'],
  image: ImageSummary,
  test: (p: ImagePlatform) => { ok: boolean; note: string }
): PolicyCheck {
  if (image.platforms.length === 0)
    return { name, passed: false, detail: 'the image has no runnable platform to check' };
  const results = image.platforms.map((p) => ({ platform: p.platform, ...test(p) }));
  const passed = results.every((r) => r.ok);
  if (results.length === 1) return { name, passed, detail: results[0]!.note };
  const shown = passed ? results : results.filter((r) => !r.ok);
  return { name, passed, detail: shown.map((r) => `${r.platform}: ${r.note}`).join('; ') };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
