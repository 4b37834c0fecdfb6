/**
 * Docker image references, normalised the way the docker CLI does (`acme/app` →
 * `docker.io/acme/app`, `alpine` → `docker.io/library/alpine`), without a registry lookup.
 */
export interface ImageRef {
  /** Fully qualified repository, e.g. `docker.io/acme/app`, `127.0.0.1:5000/x/y`. */
  repo: string;
  tag?: string;
  /** `sha256:<hex>` */
  digest?: string;
}

export function normalizeRepo(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasHost =
    first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost) {
    return first === 'index.docker.io' ? 'docker.io' + name.slice(slash) : name;
  }
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

export function parseImageRef(ref: string): ImageRef {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  // A colon after the last slash is a tag; one before it belongs to host:port.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const out: ImageRef = { repo: normalizeRepo(rest) };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** The registry host part of a repository: `docker.io`, `127.0.0.1:5000`, … */
export function registryHost(ref: string): string {
  return parseImageRef(ref).repo.split('/')[0]!;
}

/** The `auths` key docker uses in config.json for the registry of `ref`. */
export function authConfigKey(ref: string): string {
  const host = registryHost(ref);
  return host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
}
