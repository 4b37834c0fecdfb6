/**
 * Docker token scopes, access lists and the Bearer challenge (docs/protocol.md §7, docker/distribution
 * `registry/auth/token/accesscontroller.go` and `registry/auth/auth.go`).
 *
 * A scope is `type[(class)]:name:actions`, e.g. `repository:example.com:5000/app:push,pull`.
 * The name may itself hold colons (a registry `host:port/`), so the type ends at the first colon
 * and the actions start after the last one (cesanta/docker_auth got this wrong: notary #916).
 * Several scopes are separated by spaces, or sent as repeated `scope` query parameters.
 */
import { fail, type AccessDetail } from '../errors.js';
import { gunProblem } from '../tuf/names.js';

/** A resource and the actions granted (token `access` claim) or requested (scope) on it. */
export interface Access {
  readonly type: string;
  readonly class?: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** One action a route needs on one resource (distribution's `auth.Access`). */
export interface RequiredAccess {
  readonly type: string;
  readonly class?: string;
  readonly name: string;
  readonly action: string;
}

/** More scopes than this in one request is refused rather than processed. */
export const MAX_SCOPES = 32;
const MAX_SCOPE_LENGTH = 512;

const TYPE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const ACTION = /^(?:\*|[a-z][a-z0-9_-]*)$/;

function hasSpaceOrControl(text: string): boolean {
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code <= 0x20 || code === 0x7f || /\s/.test(ch)) return true;
  }
  return false;
}

/**
 * Why a `repository` scope's name can never name a repository, or undefined. GUNs are matched
 * literally, so `a/../b`, `a//b` or `a/%2e%2e/b` would only ever name nothing; such scopes are
 * dropped (the token carries no access for them) instead of being signed into a token.
 */
export function repositoryNameProblem(name: string): string | undefined {
  if (/%2e|%2f|%5c/i.test(name)) return 'a percent-encoded ".", "/" or "\\"';
  return gunProblem(name);
}

/** Parses one scope; null when it is malformed. Actions keep their order, duplicates dropped. */
export function parseScope(text: string): Access | null {
  if (text.length > MAX_SCOPE_LENGTH) return null;
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  const typeMatch = TYPE.exec(text.slice(0, first));
  const name = text.slice(first + 1, last);
  const actions = [...new Set(text.slice(last + 1).split(','))];
  if (typeMatch === null || name === '' || hasSpaceOrControl(name)) return null;
  if (typeMatch[1] === 'repository' && repositoryNameProblem(name) !== undefined) return null;
  if (!actions.every((a) => ACTION.test(a))) return null;
  const [, type, cls] = typeMatch as unknown as [string, string, string | undefined];
  return cls === undefined ? { type, name, actions } : { type, class: cls, name, actions };
}

export interface ParsedScopes {
  readonly scopes: Access[];
  /** Scopes that could not be parsed; skipped, as distribution's token server skips them. */
  readonly rejected: string[];
}

/**
 * Parses the `scope` values of a token request: each may hold several space-separated scopes
 * (the OAuth POST form) and the parameter may repeat (the GET form). Empty values are ignored.
 */
export function parseScopes(values: string | readonly string[] | undefined): ParsedScopes {
  const all = (typeof values === 'string' ? [values] : (values ?? []))
    .flatMap((v) => v.split(' '))
    .filter((s) => s !== '');
  if (all.length > MAX_SCOPES)
    fail('INVALID_PARAMETERS', `more than ${MAX_SCOPES} scopes requested`);
  const scopes: Access[] = [];
  const rejected: string[] = [];
  for (const text of all) {
    const scope = parseScope(text);
    if (scope === null) rejected.push(text);
    else scopes.push(scope);
  }
  return { scopes, rejected };
}

export function formatScope(access: Access): string {
  const type = access.class === undefined ? access.type : `${access.type}(${access.class})`;
  return `${type}:${access.name}:${access.actions.join(',')}`;
}

function sameResource(
  a: { type: string; name: string },
  b: { type: string; name: string }
): boolean {
  return a.type === b.type && a.name === b.name;
}

/**
 * True when `granted` allows every entry of `required`. Like distribution, resources match on
 * type and name (class is ignored) and a granted `*` allows any action.
 */
export function satisfies(
  granted: readonly Access[],
  required: readonly RequiredAccess[]
): boolean {
  return required.every((need) =>
    granted.some(
      (g) => sameResource(g, need) && (g.actions.includes('*') || g.actions.includes(need.action))
    )
  );
}

/** Groups single required actions into scopes, resources and actions in first-seen order. */
export function requiredScopes(required: readonly RequiredAccess[]): Access[] {
  const out: { type: string; name: string; actions: string[] }[] = [];
  for (const need of required) {
    const entry = out.find((e) => sameResource(e, need));
    if (entry === undefined) out.push({ type: need.type, name: need.name, actions: [need.action] });
    else if (!entry.actions.includes(need.action)) entry.actions.push(need.action);
  }
  return out;
}

/** Go's %q for the strings that appear in challenges. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export interface ChallengeOptions {
  readonly realm: string;
  readonly service: string;
  readonly required?: readonly RequiredAccess[];
  readonly error?: 'invalid_token' | 'insufficient_scope';
}

/**
 * The `WWW-Authenticate` value notary-server sends with a 401:
 * `Bearer realm="…",service="…"[,scope="…"][,error="…"]`. The scope lists the required
 * resources (space-separated, actions comma-joined; the class is not included, as in v2.8.2).
 */
export function formatChallenge(options: ChallengeOptions): string {
  let out = `Bearer realm=${goQuote(options.realm)},service=${goQuote(options.service)}`;
  const scope = requiredScopes(options.required ?? [])
    .map(formatScope)
    .join(' ');
  if (scope !== '') out += `,scope=${goQuote(scope)}`;
  if (options.error !== undefined) out += `,error=${goQuote(options.error)}`;
  return out;
}

/** One entry of the 401 body's `detail` (the error catalogue's type, re-exported here). */
export type { AccessDetail };

/** The `detail` of notary-server's UNAUTHORIZED error: the required accesses, in route order. */
export function unauthorizedDetail(required: readonly RequiredAccess[]): AccessDetail[] {
  return required.map((r) => ({
    Type: r.type,
    Class: r.class ?? '',
    Name: r.name,
    Action: r.action,
  }));
}

/** The realm of a challenge when `autoredirect` is on (distribution: `https://<Host>/auth/token`). */
export function autoRedirectRealm(host: string): string {
  return `https://${host}/auth/token`;
}
