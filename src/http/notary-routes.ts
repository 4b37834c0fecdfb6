/**
 * notary-server's route table (docs/protocol.md §1.1), matched in the same order on the decoded,
 * cleaned path. As in notary's server.go, each route declares its operation label (metrics), the
 * access it needs (docs/protocol.md §7.3), its cache policy and how a bad GUN is answered; a
 * match is typed per route, so a handler gets exactly the fields its path carries. The handlers
 * live in notary-handlers.ts (and notary-reads.ts for the metadata GETs).
 */
import { CATALOG, repository, type RequiredAccess } from '../auth/access.js';
import type { ServerRole } from '../notary/keys.js';

export type Operation =
  | 'UpdateTUF'
  | 'GetRoleByHash'
  | 'GetRoleByVersion'
  | 'GetRole'
  | 'GetKey'
  | 'RotateKey'
  | 'DeleteTUF'
  | 'Changefeed';

interface Bare<N extends string> {
  readonly name: N;
}
interface OnGun<N extends string> extends Bare<N> {
  readonly gun: string;
}
interface OnRole<N extends string, R extends string = string> extends OnGun<N> {
  readonly role: R;
}

export type CurrentMatch = OnRole<'current'>;
export type ByHashMatch = OnRole<'byHash'> & { readonly checksum: string };
export type ByVersionMatch = OnRole<'byVersion'> & { readonly version: string };
/** The metadata GETs: answered from the read cache (notary-reads.ts). */
export type MetadataMatch = CurrentMatch | ByHashMatch | ByVersionMatch;

export type RouteMatch =
  | Bare<'ping'>
  | OnGun<'update'>
  | MetadataMatch
  | OnRole<'getKey', ServerRole>
  | OnRole<'rotateKey', ServerRole>
  | OnGun<'delete'>
  | OnGun<'changefeed'>
  | Bare<'globalChangefeed'>
  | Bare<'health'>
  | Bare<'healthz'>
  | Bare<'readyz'>
  | Bare<'metrics'>;

export type RouteName = RouteMatch['name'];

/**
 * The Cache-Control of a route's 200s (notary's cache controllers): `current` and `consistent`
 * metadata get the configured max-ages (src/http/notary-reads.ts), `no-store` forbids caching,
 * `none` sends no header.
 */
export type CachePolicy = 'current' | 'consistent' | 'no-store' | 'none';

/**
 * What a GUN that fails the prefix filter or the name rules gets: reads answer 404 as if the
 * repository did not exist (notary's metadata routes), everything else 400 INVALID_GUN.
 */
export type GunRefusal = 'not_found' | 'invalid';

/** A request matched to a route: its typed match and what the route declares. */
export interface Matched {
  readonly match: RouteMatch;
  readonly operation?: Operation;
  readonly required: readonly RequiredAccess[];
  readonly cache: CachePolicy;
  readonly gunRefusal: GunRefusal;
}

type Groups = Readonly<Record<string, string | undefined>>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly match: (g: Groups) => Matched;
}

interface RouteSpec<M extends RouteMatch> {
  /** The typed match from the pattern's named groups (present when the pattern matched). */
  readonly parse: (g: Groups) => M;
  readonly method: string;
  readonly pattern: RegExp;
  readonly operation?: Operation;
  readonly access: (m: NoInfer<M>) => RequiredAccess[];
  readonly cache?: CachePolicy;
  readonly gunRefusal?: GunRefusal;
}

function route<M extends RouteMatch>(spec: RouteSpec<M>): Route {
  const cache = spec.cache ?? 'none';
  const gunRefusal = spec.gunRefusal ?? 'invalid';
  return {
    method: spec.method,
    pattern: spec.pattern,
    match: (g) => {
      const match = spec.parse(g);
      return {
        match,
        ...(spec.operation ? { operation: spec.operation } : {}),
        required: spec.access(match),
        cache,
        gunRefusal,
      };
    },
  };
}

const ROLE = 'root|targets(?:/[^/\\s]+)*|snapshot|timestamp';
const GUN = '(?<gun>[^*]+)';
const SERVER_ROLE = '(?<role>snapshot|timestamp)';

const bare =
  <N extends string>(name: N) =>
  (): Bare<N> => ({ name });
const onGun =
  <N extends string>(name: N) =>
  (g: Groups): OnGun<N> => ({ name, gun: g.gun as string });
const onServerRole =
  <N extends string>(name: N) =>
  (g: Groups): OnRole<N, ServerRole> => ({
    name,
    gun: g.gun as string,
    role: g.role as ServerRole,
  });

const pull = (m: { gun: string }) => [repository(m.gun, 'pull')];
const pushPull = (m: { gun: string }) => [repository(m.gun, 'push', 'pull')];
const everything = (m: { gun: string }) => [repository(m.gun, '*')];
const catalog = () => [CATALOG];
const open = () => [];

function onRole<N extends string>(name: N, g: Groups): OnRole<N> {
  return { name, gun: g.gun as string, role: g.role as string };
}

/** A metadata GET: pull access, a bad GUN answered 404 like a missing repository, cached. */
function metadataGet<M extends MetadataMatch>(
  operation: Operation,
  cache: 'current' | 'consistent',
  pattern: RegExp,
  parse: (g: Groups) => M
): Route {
  return route({
    method: 'GET',
    pattern,
    operation,
    access: pull,
    cache,
    gunRefusal: 'not_found',
    parse,
  });
}

const ROUTES: readonly Route[] = [
  route({ method: 'GET', pattern: /^\/v2\/$/, access: catalog, parse: bare<'ping'>('ping') }),
  route({
    method: 'POST',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/$`),
    operation: 'UpdateTUF',
    access: pushPull,
    parse: onGun<'update'>('update'),
  }),
  metadataGet(
    'GetRoleByHash',
    'consistent',
    new RegExp(
      `^/v2/${GUN}/_trust/tuf/(?<role>${ROLE})\\.(?<checksum>[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})\\.json$`
    ),
    (g): ByHashMatch => ({ ...onRole('byHash', g), checksum: g.checksum as string })
  ),
  metadataGet(
    'GetRoleByVersion',
    'consistent',
    new RegExp(`^/v2/${GUN}/_trust/tuf/(?<version>[1-9]*[0-9]+)\\.(?<role>${ROLE})\\.json$`),
    (g): ByVersionMatch => ({ ...onRole('byVersion', g), version: g.version as string })
  ),
  metadataGet(
    'GetRole',
    'current',
    new RegExp(`^/v2/${GUN}/_trust/tuf/(?<role>${ROLE})\\.json$`),
    (g): CurrentMatch => onRole('current', g)
  ),
  route({
    method: 'GET',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/${SERVER_ROLE}\\.key$`),
    operation: 'GetKey',
    access: pushPull,
    parse: onServerRole<'getKey'>('getKey'),
  }),
  route({
    method: 'POST',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/${SERVER_ROLE}\\.key$`),
    operation: 'RotateKey',
    access: everything,
    parse: onServerRole<'rotateKey'>('rotateKey'),
  }),
  route({
    method: 'DELETE',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/$`),
    operation: 'DeleteTUF',
    access: everything,
    parse: onGun<'delete'>('delete'),
  }),
  route({
    method: 'GET',
    pattern: new RegExp(`^/v2/${GUN}/_trust/changefeed$`),
    operation: 'Changefeed',
    access: pull,
    gunRefusal: 'not_found',
    parse: onGun<'changefeed'>('changefeed'),
  }),
  route({
    method: 'GET',
    pattern: /^\/v2\/_trust\/changefeed$/,
    operation: 'Changefeed',
    access: catalog,
    parse: bare<'globalChangefeed'>('globalChangefeed'),
  }),
  route({
    method: 'GET',
    pattern: /^\/_notary_server\/health$/,
    access: open,
    parse: bare<'health'>('health'),
  }),
  route({ method: 'GET', pattern: /^\/healthz$/, access: open, parse: bare<'healthz'>('healthz') }),
  route({
    method: 'GET',
    pattern: /^\/readyz$/,
    access: open,
    cache: 'no-store',
    parse: bare<'readyz'>('readyz'),
  }),
  route({ method: 'GET', pattern: /^\/metrics$/, access: open, parse: bare<'metrics'>('metrics') }),
];

/** Methods the catch-all (#13) accepts; any other method on any path is a 405. */
const CATCH_ALL_METHODS = new Set(['GET', 'POST', 'PUT', 'HEAD', 'DELETE']);

export type Dispatch =
  { kind: 'route'; route: Matched } | { kind: 'catchAll' } | { kind: 'methodNotAllowed' };

export function matchRoute(method: string, path: string): Dispatch {
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (!m) continue;
    return { kind: 'route', route: r.match(m.groups ?? {}) };
  }
  return CATCH_ALL_METHODS.has(method) ? { kind: 'catchAll' } : { kind: 'methodNotAllowed' };
}

/** The GUN a route's path carries, if any. */
export function gunOf(m: RouteMatch): string | undefined {
  return 'gun' in m ? m.gun : undefined;
}

/** The role a route's path carries, if any. */
export function roleOf(m: RouteMatch): string | undefined {
  return 'role' in m ? m.role : undefined;
}

/**
 * Go's path.Clean, plus the trailing slash gorilla/mux keeps: the router redirects (301) to this
 * when it differs from the request path.
 */
export function cleanPath(p: string): string {
  // The common case, checked cheaply: rooted, no empty, `.` or `..` segment.
  if (p.startsWith('/') && !p.includes('//') && !p.includes('/.')) return p;
  if (p === '') return '/';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  let cleaned = (rooted ? '/' : '') + out.join('/');
  if (cleaned === '') cleaned = rooted ? '/' : '.';
  if (p.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}
