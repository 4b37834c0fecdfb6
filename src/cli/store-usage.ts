/**
 * The store commands' usage text, apart from src/cli/store.ts so that `countersign --help` can
 * print it without loading the store client and storage.
 */
export const CONNECTION = `Connection options:
  --server URL       the Countersign server (https://host:port)
  --ca FILE          PEM CA certificate(s) for the server's TLS certificate
  --user NAME        the account; its password comes from COUNTERSIGN_PASSWORD, or from
                     standard input with --password-stdin
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

${CONNECTION}
`;
