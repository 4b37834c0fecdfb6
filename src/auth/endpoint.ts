/**
 * Where clients fetch tokens (the challenge's `realm`) and for which audience (`service`).
 *
 * External mode: both come from notary-server's `auth.options` (with `autoredirect`, the realm
 * follows the request's Host, as distribution does).
 *
 * Built-in mode: the realm is `<base>/auth/token`, where the base is `--public-url` when given,
 * else the address the server really listens on — known only after listen (port 0), so it is
 * handed in then (`setListeningUrl`); a wildcard listen address is useless to clients, so then
 * the request's Host is used. The service is `countersign.auth.service`, else the public URL's
 * host, else the listening host:port.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { autoRedirectRealm } from './scope.js';

export interface ChallengeEndpoint {
  realm(req: IncomingMessage): string;
  service(): string;
}

export function externalEndpoint(options: {
  readonly realm: string;
  readonly service: string;
  readonly autoRedirect: boolean;
}): ChallengeEndpoint {
  return {
    realm: (req) =>
      options.autoRedirect && typeof req.headers.host === 'string' && req.headers.host !== ''
        ? autoRedirectRealm(req.headers.host)
        : options.realm,
    service: () => options.service,
  };
}

/** The service used before anything better is known (tests that never listen). */
export const FALLBACK_SERVICE = 'countersign';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

export class BuiltinEndpoint implements ChallengeEndpoint {
  private readonly publicUrl: URL | undefined;
  private readonly configuredService: string | undefined;
  private listening: URL | undefined;

  constructor(options: { readonly publicUrl?: string; readonly service?: string }) {
    this.publicUrl = options.publicUrl === undefined ? undefined : new URL(options.publicUrl);
    this.configuredService = options.service;
  }

  /** The URL the server listens on (`https://127.0.0.1:4443`), once it does. */
  setListeningUrl(url: string): void {
    this.listening = new URL(url);
  }

  realm(req: IncomingMessage): string {
    return `${this.base(req)}/auth/token`;
  }

  service(): string {
    return (
      this.configuredService ?? this.publicUrl?.host ?? this.listening?.host ?? FALLBACK_SERVICE
    );
  }

  private base(req: IncomingMessage): string {
    if (this.publicUrl !== undefined) return trimSlash(this.publicUrl.href);
    const l = this.listening;
    if (l !== undefined && !WILDCARD_HOSTS.has(l.hostname)) return trimSlash(l.origin);
    const scheme = (req.socket as TLSSocket).encrypted === true ? 'https' : 'http';
    const host =
      typeof req.headers.host === 'string' && req.headers.host !== '' ? req.headers.host : l?.host;
    return `${scheme}://${host ?? 'localhost'}`;
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
