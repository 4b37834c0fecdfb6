/**
 * A small, strict argv parser: `--name value`, `--name=value`, boolean flags, repeatable flags,
 * positionals. Anything that starts with `-` is a flag, so a flag this command does not know is
 * an error naming it (with the nearest known flag), never a positional taken by mistake. Some
 * flags may also be written with one dash (`-config FILE`, as Go programs such as notary-server
 * take them); `-h` means `--help` wherever `help` is a flag.
 */
import { fail } from '../errors.js';
import { didYouMean } from '../util/suggest.js';

export interface FlagSpec {
  readonly [name: string]: 'string' | 'boolean' | 'list';
}

export interface ParseOptions {
  /** Flags that may also be written with a single dash (`-config`, `-debug`). */
  readonly singleDash?: readonly string[];
}

export interface Parsed {
  readonly flags: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parseArgs(
  argv: readonly string[],
  spec: FlagSpec,
  options: ParseOptions = {}
): Parsed {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const { name, value: inline, written } = flagName(arg, spec, options);
    const kind = spec[name] as FlagSpec[string];
    // "Last one wins" silently drops a value the user meant (issue 16): only lists repeat.
    if (kind !== 'list' && flags[name] !== undefined)
      fail('USAGE', `${written} was given twice; it takes one value`);
    if (kind === 'boolean') {
      if (inline !== undefined) fail('USAGE', `${written} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string;
    if (inline !== undefined) value = inline;
    else {
      const next = argv[++i];
      if (next === undefined) fail('USAGE', `${written} needs a value`);
      value = next;
    }
    if (kind === 'list') ((flags[name] ??= []) as string[]).push(value);
    else flags[name] = value;
  }
  return { flags, positionals };
}

/** The spec name an argument stands for, or a USAGE error naming the flag as written. */
function flagName(
  arg: string,
  spec: FlagSpec,
  options: ParseOptions
): { name: string; value: string | undefined; written: string } {
  const double = arg.startsWith('--');
  const body = arg.slice(double ? 2 : 1);
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const value = eq < 0 ? undefined : body.slice(eq + 1);
  const written = (double ? '--' : '-') + name;
  if (!double && name === 'h' && spec.help === 'boolean') return { name: 'help', value, written };
  const known = spec[name] !== undefined;
  if (known && (double || (options.singleDash ?? []).includes(name)))
    return { name, value, written };
  const candidates = [
    ...Object.keys(spec).map((n) => `--${n}`),
    ...(options.singleDash ?? []).map((n) => `-${n}`),
  ];
  const hint = known ? ` (did you mean --${name}?)` : didYouMean(written, candidates, false);
  return fail('USAGE', `unknown flag ${written}${hint}`);
}

/** Refuses positionals a command does not take, naming the first. */
export function noPositionals(p: Parsed, command: string): void {
  if (p.positionals.length > 0)
    fail(
      'USAGE',
      `${command} takes no arguments, but got ${JSON.stringify(p.positionals[0])} (a configuration file goes after --config)`
    );
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

/** True when `argv` asks for help (`-h`/`--help` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
