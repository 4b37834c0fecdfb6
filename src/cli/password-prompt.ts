/**
 * Asks for a new password on the terminal without echoing it (`countersign user add` without
 * `--password-stdin`): the prompt goes to stderr, the terminal is put in raw mode so typed
 * characters are not shown, and the password is asked twice so a typo does not become the
 * account's password. Ctrl-C and Ctrl-D end the prompt with an error.
 */
import { CountersignError, fail } from '../errors.js';
import { MAX_PASSWORD_BYTES } from '../auth/passwords.js';

/** A terminal input stream, as process.stdin is on a TTY. */
export interface TerminalInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export function isTerminal(stdin: NodeJS.ReadableStream): stdin is TerminalInput {
  return (stdin as TerminalInput).isTTY === true;
}

/**
 * Reads lines from a raw terminal without echo. Typed-ahead input (both answers arriving in one
 * chunk) is kept for the next line instead of being dropped.
 */
class HiddenLines {
  private pending = '';

  constructor(
    private readonly stdin: TerminalInput,
    private readonly stderr: NodeJS.WritableStream
  ) {}

  async read(prompt: string): Promise<string> {
    // Echo goes off before the prompt shows, so nothing typed after it is ever echoed.
    this.stdin.setRawMode?.(true);
    this.stderr.write(prompt);
    try {
      for (;;) {
        const line = this.takeLine();
        if (line !== null) return line;
        this.pending += await this.chunk();
      }
    } finally {
      this.stdin.setRawMode?.(false);
      this.stderr.write('\n');
    }
  }

  /** The first complete line of what was typed, with backspaces applied; null if none yet. */
  private takeLine(): string | null {
    let typed = '';
    for (let i = 0; i < this.pending.length; i++) {
      const ch = this.pending[i]!;
      if (ch === '\r' || ch === '\n') {
        this.pending = this.pending.slice(i + 1).replace(/^\n/, '');
        return typed;
      }
      if (ch === '\u0003' || ch === '\u0004') fail('USAGE', 'the password prompt was cancelled');
      if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
      else typed += ch;
      if (Buffer.byteLength(typed) > MAX_PASSWORD_BYTES)
        fail('USAGE', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    }
    return null;
  }

  private chunk(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const onData = (data: Buffer | string): void => {
        done();
        resolve(data.toString());
      };
      const onEnd = (): void => {
        done();
        reject(new CountersignError('USAGE', 'the password prompt was cancelled'));
      };
      const done = (): void => {
        this.stdin.off('data', onData);
        this.stdin.off('end', onEnd);
        this.stdin.pause();
      };
      this.stdin.on('data', onData);
      this.stdin.on('end', onEnd);
      this.stdin.resume();
    });
  }
}

/** Asks twice; fails with USAGE when the answers differ or the prompt is cancelled. */
export async function promptNewPassword(
  stdin: TerminalInput,
  stderr: NodeJS.WritableStream,
  name: string
): Promise<string> {
  const lines = new HiddenLines(stdin, stderr);
  const first = await lines.read(`New password for ${name}: `);
  const second = await lines.read('Repeat the password: ');
  if (first !== second) fail('USAGE', 'the two passwords differ; nothing was changed');
  return first;
}
