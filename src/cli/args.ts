/** A small, strict argv parser: `--name value`, `--name=value`, boolean flags, repeatable flags, positionals. */
import { fail } from '../errors.js';

export interface FlagSpec {
  readonly [name: string]: 'string' | 'boolean' | 'list';
}

export interface Parsed {
  readonly flags: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: FlagSpec): Parsed {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const kind = spec[name];
    if (!kind) fail('USAGE', `unknown flag --${name}`);
    // "Last one wins" silently drops a value the user meant (issue 16): only lists repeat.
    if (kind !== 'list' && flags[name] !== undefined)
      fail('USAGE', `--${name} was given twice; it takes one value`);
    if (kind === 'boolean') {
      if (eq >= 0) fail('USAGE', `--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) fail('USAGE', `--${name} needs a value`);
      value = next;
    }
    if (kind === 'list') ((flags[name] ??= []) as string[]).push(value);
    else flags[name] = value;
  }
  return { flags, positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}
