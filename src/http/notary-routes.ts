/**
 * notary-server's route table (docs/protocol.md §1.1), matched in the same order on the decoded,
 * cleaned path. Each route declares its operation label (metrics), the access it needs
 * (docs/protocol.md §7.3) and its cache policy; handlers live in notary-api.ts.
 */
export type Operation =
  | 'UpdateTUF'
  | 'GetRoleByHash'
  | 'GetRoleByVersion'
  | 'GetRole'
  | 'GetKey'
  | 'RotateKey'
  | 'DeleteTUF'
  | 'Changefeed';

export type RouteName =
  | 'ping'
  | 'update'
  | 'byHash'
  | 'byVersion'
  | 'current'
  | 'getKey'
  | 'rotateKey'
  | 'delete'
  | 'changefeed'
  | 'globalChangefeed'
  | 'health'
  | 'healthz'
  | 'readyz'
  | 'metrics';

export interface RouteMatch {
  readonly name: RouteName;
  readonly operation?: Operation;
  readonly gun?: string;
  readonly role?: string;
  readonly checksum?: string;
  readonly version?: string;
}

const ROLE = 'root|targets(?:/[^/\\s]+)*|snapshot|timestamp';
const GUN = '(?<gun>[^*]+)';

interface Route {
  readonly name: RouteName;
  readonly method: string;
  readonly pattern: RegExp;
  readonly operation?: Operation;
}

const ROUTES: readonly Route[] = [
  { name: 'ping', method: 'GET', pattern: /^\/v2\/$/ },
  {
    name: 'update',
    method: 'POST',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/$`),
    operation: 'UpdateTUF',
  },
  {
    name: 'byHash',
    method: 'GET',
    pattern: new RegExp(
      `^/v2/${GUN}/_trust/tuf/(?<role>${ROLE})\\.(?<checksum>[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})\\.json$`
    ),
    operation: 'GetRoleByHash',
  },
  {
    name: 'byVersion',
    method: 'GET',
    pattern: new RegExp(
      `^/v2/${GUN}/_trust/tuf/(?<version>[1-9]*[0-9]+)\\.(?<role>${ROLE})\\.json$`
    ),
    operation: 'GetRoleByVersion',
  },
  {
    name: 'current',
    method: 'GET',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/(?<role>${ROLE})\\.json$`),
    operation: 'GetRole',
  },
  {
    name: 'getKey',
    method: 'GET',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/(?<role>snapshot|timestamp)\\.key$`),
    operation: 'GetKey',
  },
  {
    name: 'rotateKey',
    method: 'POST',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/(?<role>snapshot|timestamp)\\.key$`),
    operation: 'RotateKey',
  },
  {
    name: 'delete',
    method: 'DELETE',
    pattern: new RegExp(`^/v2/${GUN}/_trust/tuf/$`),
    operation: 'DeleteTUF',
  },
  {
    name: 'changefeed',
    method: 'GET',
    pattern: new RegExp(`^/v2/${GUN}/_trust/changefeed$`),
    operation: 'Changefeed',
  },
  {
    name: 'globalChangefeed',
    method: 'GET',
    pattern: /^\/v2\/_trust\/changefeed$/,
    operation: 'Changefeed',
  },
  { name: 'health', method: 'GET', pattern: /^\/_notary_server\/health$/ },
  { name: 'healthz', method: 'GET', pattern: /^\/healthz$/ },
  { name: 'readyz', method: 'GET', pattern: /^\/readyz$/ },
  { name: 'metrics', method: 'GET', pattern: /^\/metrics$/ },
];

/** Methods the catch-all (#13) accepts; any other method on any path is a 405. */
const CATCH_ALL_METHODS = new Set(['GET', 'POST', 'PUT', 'HEAD', 'DELETE']);

export type Dispatch =
  { kind: 'route'; match: RouteMatch } | { kind: 'catchAll' } | { kind: 'methodNotAllowed' };

export function matchRoute(method: string, path: string): Dispatch {
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (!m) continue;
    const g = m.groups ?? {};
    return {
      kind: 'route',
      match: {
        name: r.name,
        operation: r.operation,
        gun: g.gun,
        role: g.role,
        checksum: g.checksum,
        version: g.version,
      },
    };
  }
  return CATCH_ALL_METHODS.has(method) ? { kind: 'catchAll' } : { kind: 'methodNotAllowed' };
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
