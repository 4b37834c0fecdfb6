/**
 * The command line of every command, tokenised by commander (the one module of ours that imports
 * it): `--name value`, `--name=value`, boolean flags, repeatable flags, positionals, `--`. On top
 * of commander: anything that starts with `-` and is not a known flag is an error naming it (with
 * the nearest known flag), never a positional taken by mistake; a single-valued flag given twice is
 * an error (commander keeps the last; issue 16 asks for the opposite); some flags may also be
 * written with one dash (`-config FILE`, as Go programs such as notary-server take them); `-h`
 * means `--help` wherever `help` is a flag.
 */
import { Command, CommanderError, Option } from 'commander';
import { CountersignError, fail } from '../errors.js';
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
  const command = commandFor(spec, (name, value) => {
    const kind = spec[name] as FlagSpec[string];
    // "Last one wins" silently drops a value the user meant (issue 16): only lists repeat.
    if (kind !== 'list' && flags[name] !== undefined)
      fail(
        'USAGE',
        `${name === 'help' ? '--help' : writtenAs(name, argv, options)} was given twice; it takes one value`
      );
    if (kind === 'boolean') flags[name] = true;
    else if (kind === 'list') ((flags[name] ??= []) as string[]).push(value ?? '');
    else flags[name] = value ?? '';
  });
  const rewritten = singleDashAsDouble(argv, spec, options);
  let result: { operands: string[]; unknown: string[] };
  try {
    result = command.parseOptions(rewritten);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // A value-taking flag without its value can only be the last argument.
    if (err.code === 'commander.optionMissingArgument')
      fail('USAGE', `${String(argv.at(-1))} needs a value`);
    throw new CountersignError('USAGE', err.message.replace(/^error: /, ''), { cause: err });
  }
  const unknown = result.unknown[0];
  if (unknown !== undefined)
    unknownFlag(argv[rewritten.indexOf(unknown)] ?? unknown, spec, options);
  return { flags, positionals: result.operands };
}

/** A commander command that only tokenises: no help, no output, no exit, every occurrence reported. */
function commandFor(
  spec: FlagSpec,
  onFlag: (name: string, value: string | undefined) => void
): Command {
  const command = new Command()
    .exitOverride()
    .helpOption(false)
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  for (const [name, kind] of Object.entries(spec)) {
    const long = kind === 'boolean' ? `--${name}` : `--${name} <value>`;
    command.addOption(new Option(name === 'help' && kind === 'boolean' ? `-h, ${long}` : long));
    // commander emits option:NAME once per occurrence, with the value as written (null for a boolean).
    command.on(`option:${name}`, (value: string | null) => onFlag(name, value ?? undefined));
  }
  return command;
}

/** `-config FILE` → `--config FILE` for the flags that may be written with one dash. */
function singleDashAsDouble(
  argv: readonly string[],
  spec: FlagSpec,
  options: ParseOptions
): string[] {
  const single = new Set((options.singleDash ?? []).filter((n) => spec[n] !== undefined));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const m = /^-([a-z][a-z0-9-]*)(=.*)?$/.exec(arg);
    out.push(m && single.has(m[1] as string) ? `-${arg}` : arg);
  }
  return out;
}

/** How the user wrote a flag that was given twice (`-config` or `--config`), for the message. */
function writtenAs(name: string, argv: readonly string[], options: ParseOptions): string {
  const single = (options.singleDash ?? []).includes(name);
  const lastSingle = argv.findLast((a) => a === `-${name}` || a.startsWith(`-${name}=`));
  return single && lastSingle !== undefined ? `-${name}` : `--${name}`;
}

/** For `-xyz` that is no flag at all: perhaps an id or value that happens to begin with a dash. */
const DASH_ARGUMENT_HINT =
  ' (an argument that begins with - goes after --, as in: approve -- -x1y2)';

/** The USAGE error for a flag this command does not know, naming it as written. */
function unknownFlag(arg: string, spec: FlagSpec, options: ParseOptions): never {
  const double = arg.startsWith('--');
  const body = arg.slice(double ? 2 : 1);
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const written = (double ? '--' : '-') + name;
  const asWritten = double || (options.singleDash ?? []).includes(name);
  if (asWritten && eq >= 0 && spec[name] === 'boolean') fail('USAGE', `${written} takes no value`);
  const candidates = [
    ...Object.keys(spec).map((n) => `--${n}`),
    ...(options.singleDash ?? []).map((n) => `-${n}`),
  ];
  const hint =
    spec[name] !== undefined
      ? ` (did you mean --${name}?)`
      : didYouMean(written, candidates, false) || (double ? '' : DASH_ARGUMENT_HINT);
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

export { wantsHelp } from './help-flag.js';
