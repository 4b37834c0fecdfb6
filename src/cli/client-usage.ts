/**
 * The flags and help texts of the client commands (`check`, `verify`, `pull`), apart from their
 * modules so that `COMMAND --help` and shell completion print them without loading the argument
 * parser, the TUF client and its X.509 library (docs/client.md "Start-up time").
 */
import type { FlagSpec } from './args.js';

export const EXIT_CODES_HELP = `Exit status:
  0  everything verifies (and, for check, nothing expires within --min-valid)
  1  a role or root certificate has expired or expires within --min-valid (all else verifies)
  2  usage error (bad flag, unreadable file, corrupt or foreign --state file, a reference
     docker would refuse)
  3  verification failure: root chain, bad signature, hash or length mismatch, malformed
     metadata
  4  network error, unexpected HTTP status, refused credentials, or no trust data for the GUN
  5  rollback: a role below the version seen before (--state, --trust-dir), or a root that
     does not chain from the kept one
  6  (verify) the tag or digest is not validly signed in targets/releases or targets
`;

export const TRUST_OPTIONS_HELP = `  --server URL      the Notary server (https://host:port or http://…); default
                    $DOCKER_CONTENT_TRUST_SERVER
  --ca FILE         PEM CA certificate(s) for the server's TLS certificate
  --pin-ca FILE     trust_pinning.ca: the root certificates must chain to this CA (CN = GUN,
                    extended key usage absent or including serverAuth); checked on every run
  --pin-root FILE   a root.json to trust on the first run instead of the server's version 1
                    (docker's cached ~/.docker/trust/tuf/<gun>/metadata/root.json works)
  --state FILE      keep the trusted root and the highest version of every role per server
                    and GUN; a lower version or a root that does not chain fails with 5
  --trust-dir DIR   read and update docker's or notary's trust dir (~/.docker/trust):
                    its cached root is the anchor, its cached versions the floor
  --user NAME       read as NAME (password from $COUNTERSIGN_PASSWORD) through the token
                    flow; without it, $NOTARY_AUTH (base64 of user:password) if set
  --profile FILE    read --server, --user and --ca defaults from FILE (default
                    $COUNTERSIGN_PROFILE, else ~/.config/countersign/profile.json if it exists);
                    a flag beats $COUNTERSIGN_SERVER, $COUNTERSIGN_USER, $COUNTERSIGN_CA,
                    which beat the profile
  --json            print JSON instead of text
`;

export const TRUST_FLAGS: FlagSpec = {
  server: 'string',
  ca: 'string',
  'pin-ca': 'string',
  'pin-root': 'string',
  state: 'string',
  'trust-dir': 'string',
  user: 'string',
  profile: 'string',
  json: 'boolean',
  help: 'boolean',
};

export const CHECK_HELP = `Usage: countersign check [--server URL] (--gun GUN ... | --gun-file FILE) [--ca FILE]
        [--pin-ca FILE | --pin-root FILE] [--state FILE] [--trust-dir DIR] [--user NAME]
        [--min-valid DURATION] [--json]

Fetches timestamp.json and the chain it needs (root versions from 1 or from the kept or pinned
root, snapshot, targets and delegations by hash) from any Notary server, verifies every
signature from the root, and prints one line per role with its version and expiry. Fails if
anything has expired or expires within --min-valid, or is older than seen before.

Options:
  --gun GUN             a repository, e.g. docker.io/library/alpine; repeat for several
  --gun-file FILE       one GUN per line (blank lines and lines starting with # skipped)
  --min-valid DURATION  how long everything must stay valid: an integer and s, m, h or d
                        (default 24h)
${TRUST_OPTIONS_HELP}
With several GUNs, --json prints one JSON array, and text ends with a summary line.

${EXIT_CODES_HELP}`;

export const CHECK_FLAGS: FlagSpec = {
  ...TRUST_FLAGS,
  gun: 'list',
  'gun-file': 'string',
  'min-valid': 'string',
};

export const VERIFY_HELP = `Usage: countersign verify [--server URL] [--ca FILE] [--pin-ca FILE | --pin-root FILE]
        [--state FILE] [--trust-dir DIR] [--user NAME] [--output digest|ref] [--json] IMAGE

Runs the notary client's update against any Notary server (root chain from version 1 or from
the kept or pinned root, timestamp, snapshot, targets, delegations, each by hash, signature and
expiry) and resolves IMAGE as docker does. IMAGE is read as docker reads it: alpine is
docker.io/library/alpine:latest, acme/web:1.0 is docker.io/acme/web:1.0, a first part with a
dot, a colon or localhost is the registry (127.0.0.1:5000/acme/app:1.0); the GUN is the
normalised name.

  NAME[:TAG]          TAG (default latest) from targets/releases, then targets; a tag signed
                      only by another delegation is refused. Prints "sha256:<digest> <size>".
  NAME@sha256:HEX     the digest must be what some tag resolves to. Prints
                      "sha256:<digest> <size> TAG…" (every such tag).
  NAME:TAG@sha256:HEX TAG must resolve to exactly that digest.

Options:
  --output digest|ref  what to print on success: "sha256:<digest> <size>" (default) or
                       NAME@sha256:<digest> for scripts
${TRUST_OPTIONS_HELP}
${EXIT_CODES_HELP}`;

export const VERIFY_FLAGS: FlagSpec = { ...TRUST_FLAGS, output: 'string' };

export const PULL_HELP = `Usage: countersign pull [--server URL] [options] [--docker PATH] IMAGE

Verifies IMAGE as "countersign verify" does (docker's reference rules, targets/releases then
targets, the state file and pins), then runs "docker pull NAME@sha256:<digest>" and, when IMAGE
names a tag, "docker tag NAME@sha256:<digest> NAME:TAG". docker gets this process's
environment (DOCKER_HOST, DOCKER_CONFIG, …).

Options:
  --docker PATH     the docker command (default: docker on PATH)
${TRUST_OPTIONS_HELP}
${EXIT_CODES_HELP}  7  the verification passed but docker pull or docker tag failed
`;

export const PULL_FLAGS: FlagSpec = { ...TRUST_FLAGS, docker: 'string' };
