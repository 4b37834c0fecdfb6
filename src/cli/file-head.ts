/**
 * Reading the start of a small file the CLI does not trust to exist or be sane (the client
 * bundle's build line, V8's code cache): opened once, its stats checked on the open descriptor
 * (no race between checking and reading), at most `maxBytes` read. Any failure is "no file".
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export function readFileHead(
  file: string,
  maxBytes: number,
  accept: (stats: Stats) => boolean
): { bytes: Buffer; stats: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || !accept(stats)) return undefined;
    const bytes = Buffer.alloc(Math.min(stats.size, maxBytes));
    const n = readSync(fd, bytes, 0, bytes.length, 0);
    return { bytes: bytes.subarray(0, n), stats };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
