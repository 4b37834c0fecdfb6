/**
 * Field names as Go reads them (docs/protocol.md §4; issue 20). Go's encoding/json matches an object
 * key to a struct field case-insensitively (with Unicode simple folding: `ſ` is `s`, the Kelvin
 * sign is `k`), and when two keys match one field the last wins. `JSON.parse` reads names exactly.
 * So a correctly signed file carrying `"Version": 9` after `"version": 2`, or `"Signed": null`,
 * reads differently in the notary and docker clients than here.
 *
 * The rule, for every object that notary decodes into a struct (envelope, `signed`, signatures,
 * keys and their `keyval`, root roles, delegations and their roles, file meta): no two keys may
 * fold to the same name, and a key that folds to a field's name must be that name exactly. Then
 * both readers see the same fields with the same values.
 *
 * Not checked, on purpose: objects notary decodes into Go maps (`keys`, `roles`, `targets`,
 * `meta`, `hashes`), whose keys Go matches exactly — `v1` and `V1` are two distinct tags — and a
 * target's `custom`, which notary keeps as raw bytes (`*json.RawMessage`) and never decodes.
 */
import { fail } from '../errors.js';

/** The json tags of notary's structs (tuf/data), by struct. */
export const FIELDS = {
  envelope: ['signed', 'signatures'],
  signature: ['keyid', 'method', 'sig'],
  root: ['_type', 'expires', 'version', 'keys', 'roles', 'consistent_snapshot'],
  targets: ['_type', 'expires', 'version', 'targets', 'delegations'],
  snapshot: ['_type', 'expires', 'version', 'meta'],
  timestamp: ['_type', 'expires', 'version', 'meta'],
  /** Fields every `signed` has; what the envelope check uses before the type is known. */
  common: ['_type', 'expires', 'version'],
  key: ['keytype', 'keyval'],
  keyval: ['public', 'private'],
  rootRole: ['keyids', 'threshold'],
  delegations: ['keys', 'roles'],
  delegatedRole: ['name', 'keyids', 'threshold', 'paths'],
  fileMeta: ['length', 'hashes', 'custom'],
} as const satisfies Record<string, readonly string[]>;

const NOT_PRINTABLE_ASCII = /[^ -~]/;

/** Go's case folding of a field name, one code point at a time (upper then lower, as `foldName`). */
export function goFold(name: string): string {
  // Printable ASCII (every name notary writes): upper then lower case is lower case.
  if (!NOT_PRINTABLE_ASCII.test(name)) return name.toLowerCase();
  let out = '';
  for (const ch of name) {
    const upper = ch.toUpperCase();
    const base = [...upper].length === 1 ? upper : ch;
    const lower = base.toLowerCase();
    out += [...lower].length === 1 ? lower : ch;
  }
  return out;
}

/**
 * Refuses (META_SHAPE) an object whose keys Go would read differently: two keys folding to one
 * name, or a key folding to a field of `fields` without being spelled exactly as it.
 */
export function checkFieldNames(
  obj: Record<string, unknown>,
  fields: readonly string[],
  where: string
): void {
  const seen = new Map<string, string>();
  for (const key of Object.keys(obj)) {
    const folded = goFold(key);
    const earlier = seen.get(folded);
    if (earlier !== undefined)
      fail(
        'META_SHAPE',
        `${where} has keys ${JSON.stringify(earlier)} and ${JSON.stringify(key)}, which Go reads as one field`
      );
    seen.set(folded, key);
    const field = fields.find((f) => f === folded);
    if (field !== undefined && field !== key)
      fail(
        'META_SHAPE',
        `${where}.${field} must be written ${JSON.stringify(field)}, not ${JSON.stringify(key)}`
      );
  }
}
