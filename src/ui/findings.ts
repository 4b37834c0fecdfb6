/**
 * The findings of an attached scanner report, for listing on the submission page. The store
 * keeps only the counts (src/policy/vulnerabilities.ts, which has already refused anything that
 * is not a well-formed Trivy or Grype report); this reads the stored bytes again for the rows.
 * Every field is optional here: a row shows what the report says, escaped like all page data.
 */
import { parseJsonBytes } from '../canonical/parse.js';
import { SEVERITIES } from '../policy/types.js';

export interface Finding {
  readonly id: string;
  readonly severity: string;
  readonly pkg: string;
  readonly version: string;
  readonly fixedIn: string;
}

/** A page lists at most this many findings (most severe first); the counts cover the rest. */
export const MAX_LISTED_FINDINGS = 500;

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 200) : '');
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function reportFindings(bytes: Uint8Array): Finding[] {
  const json = rec(parseJsonBytes(bytes));
  const out: Finding[] = [];
  for (const r of arr(json.Results))
    for (const v of arr(rec(r).Vulnerabilities)) {
      const f = rec(v);
      out.push({
        id: str(f.VulnerabilityID),
        severity: str(f.Severity).toLowerCase(),
        pkg: str(f.PkgName),
        version: str(f.InstalledVersion),
        fixedIn: str(f.FixedVersion),
      });
    }
  for (const m of arr(json.matches)) {
    const vuln = rec(rec(m).vulnerability);
    const artifact = rec(rec(m).artifact);
    out.push({
      id: str(vuln.id),
      severity: str(vuln.severity).toLowerCase(),
      pkg: str(artifact.name),
      version: str(artifact.version),
      fixedIn: arr(rec(vuln.fix).versions).map(str).join(', '),
    });
  }
  const rank = (s: string) => {
    const i = (SEVERITIES as readonly string[]).indexOf(s);
    return i < 0 ? SEVERITIES.length : i;
  };
  return out
    .sort((a, b) => rank(a.severity) - rank(b.severity) || a.id.localeCompare(b.id))
    .slice(0, MAX_LISTED_FINDINGS);
}

/** Reports already read, by their sha256: a report never changes, and one may be 32 MiB. */
const MAX_CACHED_REPORTS = 50;

export class FindingsCache {
  private readonly entries = new Map<string, Finding[]>();

  /** The findings of the report with this sha256, reading its bytes only the first time. */
  async get(sha256: string, bytes: () => Promise<Uint8Array>): Promise<Finding[]> {
    const known = this.entries.get(sha256);
    if (known) return known;
    const findings = reportFindings(await bytes());
    if (this.entries.size >= MAX_CACHED_REPORTS)
      this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sha256, findings);
    return findings;
  }
}
