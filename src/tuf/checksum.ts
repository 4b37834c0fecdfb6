/** Checksums as metadata spells them (standard base64) and as by-checksum URLs spell them (hex). */

/** Standard base64 sha256 from metadata → lower-case hex for by-checksum lookups. */
export function hexOf(b64: string | undefined): string | undefined {
  if (b64 === undefined) return undefined;
  const bytes = Buffer.from(b64, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}
