/** PEM exactly as Go's encoding/pem writes it: 64-column base64, `\n` line ends, final newline. */

export function encodePem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

const BLOCK =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n((?:[^\n]*:[^\n]*\r?\n)*\r?\n?)?([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

/** Every PEM block in a text, in order; headers are ignored (Go keeps them apart, we never need them). */
export function decodePemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = (m[3] ?? '').replace(/\s+/g, '');
    out.push({ type: m[1] as string, der: Buffer.from(body, 'base64') });
  }
  return out;
}
