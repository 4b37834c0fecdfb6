/** `countersign` command dispatch. Each subcommand lives in its own module. */
export async function main(argv: string[]): Promise<number | undefined> {
  const [command] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`countersign: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

const USAGE = `countersign — a Notary-compatible TUF metadata server with a certification trust chain

Usage:
  countersign serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--plain-http]
  countersign --help
`;
