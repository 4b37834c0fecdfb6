/**
 * `-h`/`--help` in a command line, apart from the parser so that `main.ts` can route help without
 * loading commander (`countersign --version` and `--help` load as little as possible).
 */
/** True when `argv` asks for help (`-h`/`--help` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
