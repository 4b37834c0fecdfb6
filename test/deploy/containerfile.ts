/**
 * A reader for deploy/Containerfile's instructions (Dockerfile syntax): comments dropped, `\`
 * continuations joined, each instruction split into its keyword, its text and, for exec-form
 * instructions, its JSON array. Enough to check the file's structure without a container engine;
 * test/deploy/image.test.ts builds and runs it for real.
 */
import { readFileSync } from 'node:fs';

/** What the image runs: the server on every interface of the container, its data in /data. */
export const IMAGE_ENTRYPOINT: readonly string[] = [
  'countersign',
  'serve',
  '--listen',
  '0.0.0.0:4443',
  '--data-dir',
  '/data',
];

export interface Instruction {
  readonly keyword: string;
  readonly text: string;
  /** 1-based line of the instruction's first line. */
  readonly line: number;
}

export interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: readonly Instruction[];
}

export function readInstructions(path: string): Instruction[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = i + 1;
    const continued = line.endsWith('\\');
    pending += (pending === '' ? '' : ' ') + (continued ? line.slice(0, -1).trim() : line);
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/.exec(pending)!;
    out.push({ keyword: m[1]!.toUpperCase(), text: m[2]!, line: start });
    pending = '';
  });
  if (pending !== '') throw new Error(`${path}: the last instruction ends with a continuation`);
  return out;
}

/** The instructions after each FROM, with the global ARGs before the first FROM left out. */
export function stages(instructions: readonly Instruction[]): Stage[] {
  const out: { from: string; name?: string; instructions: Instruction[] }[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [from, as, name] = ins.text.split(/\s+/);
      out.push({
        from: from!,
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
        instructions: [],
      });
    } else {
      out.at(-1)?.instructions.push(ins);
    }
  }
  return out;
}

/** The JSON array of an exec-form instruction (ENTRYPOINT, CMD, HEALTHCHECK … CMD [...]). */
export function execForm(text: string): string[] {
  const start = text.indexOf('[');
  if (start < 0) throw new Error(`not in exec form: ${text}`);
  const parsed: unknown = JSON.parse(text.slice(start));
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new Error(`not an array of strings: ${text}`);
  }
  return parsed;
}
