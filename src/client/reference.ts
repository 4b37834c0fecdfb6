/**
 * Image references read exactly as docker reads them (github.com/distribution/reference,
 * `ParseNormalizedNamed` then `TagNameOnly`; facts in docs/client.md "Image references"): the default
 * registry `docker.io`, `library/` for one-component names on docker.io only, `:latest` when
 * there is neither tag nor digest, a first component with `.` or `:`, `localhost`, or an upper-case
 * letter is a registry, and the refusals carry docker's own reason text. The GUN docker uses for
 * content trust is the normalised name (`docker.io/library/alpine`).
 */
import { CountersignError } from '../errors.js';

export interface ImageReference {
  /** `docker.io`, `127.0.0.1:5000`, … */
  readonly domain: string;
  /** The repository path under the domain: `library/alpine`. */
  readonly path: string;
  /** `domain/path`: the GUN docker uses for content trust. */
  readonly name: string;
  /** The tag given, or `latest` when there is neither tag nor digest. */
  readonly tag?: string;
  /** `algorithm:hex` as given (lower-case hex). */
  readonly digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_MAX = 255;

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^((?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`
);
const ANCHORED_NAME = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;
/** go-digest's registered algorithms and the hex length of each. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

function refused(reason: string): never {
  throw new CountersignError('REFERENCE_INVALID', reason);
}

/** docker's splitDockerDomain. */
function splitDockerDomain(s: string): { domain: string; remainder: string } {
  const slash = s.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_PREFIX + s };
  const first = s.slice(0, slash);
  const rest = s.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) {
    domain = first;
    remainder = rest;
  } else if (first === LEGACY_DEFAULT_DOMAIN) {
    domain = DEFAULT_DOMAIN;
    remainder = rest;
  } else {
    domain = DEFAULT_DOMAIN;
    remainder = s;
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/'))
    remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** go-digest's Parse: a registered algorithm and its exact hex form. */
function checkDigest(digest: string): void {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) refused('unsupported digest algorithm');
  if (hex.length !== length) refused('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) refused('invalid checksum digest format');
}

/**
 * `ParseNormalizedNamed` + `TagNameOnly`: the reference docker would pull. Throws
 * REFERENCE_INVALID with docker's reason for anything docker refuses.
 */
export function parseDockerReference(input: string): ImageReference {
  if (IDENTIFIER.test(input))
    refused(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  const { domain, remainder } = splitDockerDomain(input);
  const colon = remainder.indexOf(':');
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote)
    refused(`invalid reference format: repository name (${remote}) must be lowercase`);
  const full = `${domain}/${remainder}`;
  const m = REFERENCE.exec(full);
  if (!m) {
    const lower = full.toLowerCase();
    if (lower !== full && REFERENCE.test(lower)) refused('repository name must be lowercase');
    refused('invalid reference format');
  }
  const name: string = m[1] ?? '';
  const path: string = ANCHORED_NAME.exec(name)?.[2] ?? name;
  if (path.length > NAME_MAX)
    refused(`repository name must not be more than ${NAME_MAX} characters`);
  const tag = m[2];
  const digest = m[3];
  if (digest !== undefined) checkDigest(digest);
  const base = { domain, path, name: `${domain}/${path}` };
  if (tag === undefined && digest === undefined) return { ...base, tag: 'latest' };
  return {
    ...base,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** `name:tag`, `name@digest` or `name:tag@digest`, as docker prints a normalised reference. */
export function formatReference(ref: ImageReference): string {
  return `${ref.name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}
