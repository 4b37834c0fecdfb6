/**
 * The routes of an express application, read from its router stack (Express 5, router 2.x):
 * `GET /api/v1/submissions/{id}`, with express's `:id` and `*gun` written as OpenAPI templates.
 * Mounted routers are followed through their mount path (`app.use('/api/v1', router)`);
 * middleware without a route (body parsers, the JSON 404) is not a route.
 */
import type { WebApp } from '../../src/http/web.js';

interface Layer {
  readonly route?: { readonly path: unknown; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly Layer[] };
  /** The mount path of a `use` layer (router ≥ 2.3). */
  readonly rawPath?: unknown;
}

/** `/submissions/:id/reports/:sha256` → `/submissions/{id}/reports/{sha256}`; `*gun` → `{gun}`. */
export function openApiTemplate(expressPath: string): string {
  if (/[{}()?+]/.test(expressPath))
    throw new Error(`route ${expressPath}: optional or pattern parts have no OpenAPI template`);
  return expressPath.replace(/[:*]([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function walk(stack: readonly Layer[], prefix: string, out: string[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const path = layer.route.path;
      if (typeof path !== 'string') throw new Error(`a route under ${prefix} has several paths`);
      for (const method of Object.keys(layer.route.methods)) {
        if (method === '_all') throw new Error(`${prefix}${path} answers every method`);
        out.push(`${method.toUpperCase()} ${openApiTemplate(prefix + path)}`);
      }
      continue;
    }
    const inner = layer.handle?.stack;
    if (!Array.isArray(inner)) continue;
    if (typeof layer.rawPath !== 'string')
      throw new Error(`a router mounted under ${prefix || '/'} has no readable mount path`);
    walk(inner as readonly Layer[], prefix + (layer.rawPath === '/' ? '' : layer.rawPath), out);
  }
}

/** Every `METHOD /path/{param}` the application routes, sorted. */
export function expressRoutes(app: WebApp): string[] {
  const out: string[] = [];
  walk((app.router as unknown as { stack: readonly Layer[] }).stack, '', out);
  return out.sort();
}
