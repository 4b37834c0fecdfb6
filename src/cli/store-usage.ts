/**
 * The store commands' usage text, apart from src/cli/store.ts so that `countersign --help` can
 * print it without loading the store client and storage.
 */
/** The flags of the store commands: one set for all of them (docs/interfaces.md). */
export const STORE_FLAGS = {
  server: 'string',
  ca: 'string',
  user: 'string',
  'password-stdin': 'boolean',
  json: 'boolean',
  note: 'string',
  reason: 'string',
  check: 'string',
  state: 'string',
  gun: 'string',
  since: 'string',
  timeout: 'string',
  profile: 'string',
  config: 'string',
  'data-dir': 'string',
  help: 'boolean',
} as const;

export const CONNECTION = `Connection options:
  --server URL       the Countersign server (https://host:port)
  --ca FILE          PEM CA certificate(s) for the server's TLS certificate
  --user NAME        the account; its password comes from COUNTERSIGN_PASSWORD, or from
                     standard input with --password-stdin
  --profile FILE     defaults for --server, --user, --ca (default $COUNTERSIGN_PROFILE, else
                     ~/.config/countersign/profile.json if it exists): a JSON object with
                     the keys server, user, ca. A flag beats $COUNTERSIGN_SERVER,
                     $COUNTERSIGN_USER, $COUNTERSIGN_CA, which beat the profile
  --timeout DURATION give up when the server sends nothing for this long (30s, 10m); by
                     default the CLI waits as long as the server works, saying so on
                     standard error every 5 s
  --json             print the server's JSON answer`;

export const STORE_USAGE = `Store commands:
  countersign submit GUN:TAG                     create a submission for a staging tag (publisher)
  countersign submission get ID                  show a submission
  countersign submission list [--state S] [--gun GUN]   list submissions (reviewer, admin)
  countersign approve ID [--note TEXT]           approve (reviewer, admin)
  countersign reject ID --note TEXT              reject (reviewer, admin)
  countersign publish ID                         publish an approved submission (admin)
  countersign revoke PUBLIC_GUN:TAG --reason TEXT   remove a published tag (admin)
  countersign report ID FILE                     attach a Trivy or Grype JSON report (owner, reviewer, admin)
  countersign waive ID --check NAME --reason TEXT   waive a failing policy check (reviewer, admin)
  countersign audit verify [--config FILE | --data-dir DIR | --server URL …]
                                                 check the audit log's hash chain
  countersign audit list [--since TIME] [--gun GUN]   the audit log (admin); TIME is RFC 3339
                                                 or a duration back from now (24h, 7d)

${CONNECTION}
`;
