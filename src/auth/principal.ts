/**
 * Who is asking: an account of the built-in service (or the local account an external token's
 * `sub` names). The store API's routes receive one from the authentication middleware; the
 * token service turns one into grants (policy.ts).
 */
import type { AccountRole, StoredAccount } from '../storage/types.js';

export type { AccountRole } from '../storage/types.js';

export const ACCOUNT_ROLES: readonly AccountRole[] = ['publisher', 'reviewer', 'admin'];

export interface Principal {
  readonly name: string;
  readonly role: AccountRole;
  /** GUN prefixes (ending in '/') a publisher owns; empty for reviewers and admins. */
  readonly namespaces: readonly string[];
}

export function isAccountRole(value: unknown): value is AccountRole {
  return typeof value === 'string' && (ACCOUNT_ROLES as readonly string[]).includes(value);
}

export function principalOf(account: StoredAccount): Principal {
  return { name: account.name, role: account.role, namespaces: [...account.namespaces] };
}

/** Account names: what fits in HTTP Basic (no ':') and in logs and JSON without escaping. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

export function accountNameProblem(name: string): string | null {
  return NAME.test(name)
    ? null
    : 'account names are 1 to 128 letters, digits, ".", "_", "@" or "-", starting with a letter or digit';
}

/** Why `prefix` cannot be a publisher namespace, or null. */
export function namespaceProblem(prefix: string): string | null {
  if (!prefix.endsWith('/') || prefix === '/')
    return 'must end in / (a GUN prefix such as staging.store.test/acme/)';
  if (prefix.startsWith('/') || prefix.includes('//')) return 'must be a clean relative path';
  if (prefix.split('/').some((s) => s === '.' || s === '..')) return 'must not contain . or ..';
  if (/[\s*]/.test(prefix)) return 'must not contain spaces or *';
  return null;
}
