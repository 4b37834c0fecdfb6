/**
 * Connection defaults for the client commands, so that not every command repeats `--server --ca
 * --user` (docs/client.md "Defaults"). Each of the three comes from, first to last:
 *
 *   the flag  >  COUNTERSIGN_SERVER / COUNTERSIGN_USER / COUNTERSIGN_CA  >  the profile file
 *
 * The profile is `--profile FILE`, else $COUNTERSIGN_PROFILE, else
 * `$XDG_CONFIG_HOME/countersign/profile.json` (`~/.config/…`) when that file exists. It is a JSON
 * object with at most the keys `server`, `user` and `ca` (a relative `ca` is read from the
 * profile's directory); anything else in it is an error naming the file, never ignored.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CountersignError, fail } from '../errors.js';
import { didYouMean } from '../util/suggest.js';
import type { Parsed } from './args.js';

export const PROFILE_KEYS = ['server', 'user', 'ca'] as const;
export type ProfileKey = (typeof PROFILE_KEYS)[number];
export type Profile = Partial<Record<ProfileKey, string>>;

/** A profile is three short strings; anything bigger is not one. */
const MAX_PROFILE_BYTES = 64 * 1024;

const ENV: Record<ProfileKey, string> = {
  server: 'COUNTERSIGN_SERVER',
  user: 'COUNTERSIGN_USER',
  ca: 'COUNTERSIGN_CA',
};

export interface DefaultsOptions {
  /** Environment variables read after COUNTERSIGN_* and before the profile, per key. */
  readonly moreEnv?: Partial<Record<ProfileKey, readonly string[]>>;
  /** A key whose default is not applied when this variable is set (NOTARY_AUTH carries a user). */
  readonly skipWhenSet?: Partial<Record<ProfileKey, string>>;
}

/** `p` with `--server`, `--user` and `--ca` filled in from the environment and the profile. */
export function withDefaults(p: Parsed, env: NodeJS.ProcessEnv, o: DefaultsOptions = {}): Parsed {
  // Read even when every flag is given: a broken profile is reported, not silently unused.
  const profile = readProfile(profilePath(p, env));
  const flags = { ...p.flags };
  for (const key of PROFILE_KEYS) {
    if (flags[key] !== undefined) continue;
    const skip = o.skipWhenSet?.[key];
    if (skip !== undefined && nonEmpty(env[skip]) !== undefined) continue;
    const fromEnv = [ENV[key], ...(o.moreEnv?.[key] ?? [])]
      .map((name) => nonEmpty(env[name]))
      .find((v) => v !== undefined);
    const value = fromEnv ?? profile[key];
    if (value !== undefined) flags[key] = value;
  }
  delete flags.profile;
  return { flags, positionals: p.positionals };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** The profile file to read and whether it must exist (it must, when named). */
function profilePath(p: Parsed, env: NodeJS.ProcessEnv): { file: string; required: boolean } {
  const flag = p.flags.profile;
  if (typeof flag === 'string') return { file: flag, required: true };
  const named = nonEmpty(env.COUNTERSIGN_PROFILE);
  if (named !== undefined) return { file: named, required: true };
  const base = nonEmpty(env.XDG_CONFIG_HOME) ?? join(nonEmpty(env.HOME) ?? homedir(), '.config');
  return { file: join(base, 'countersign', 'profile.json'), required: false };
}

export function readProfile(where: { file: string; required: boolean }): Profile {
  const text = readCapped(where.file, where.required);
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CountersignError(
      'USAGE',
      `profile ${where.file}: not JSON (${(cause as Error).message})`,
      { cause }
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    fail('USAGE', `profile ${where.file}: must be a JSON object with server, user and/or ca`);
  const profile: Profile = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(PROFILE_KEYS as readonly string[]).includes(key))
      fail(
        'USAGE',
        `profile ${where.file}: unknown key ${JSON.stringify(key)}${didYouMean(key, PROFILE_KEYS)} (it takes ${PROFILE_KEYS.join(', ')})`
      );
    if (typeof value !== 'string' || value === '')
      fail('USAGE', `profile ${where.file}: ${key} must be a non-empty string`);
    profile[key as ProfileKey] = key === 'ca' ? resolve(dirname(where.file), value) : value;
  }
  return profile;
}

/** The file's text, at most MAX_PROFILE_BYTES; undefined when an optional file is absent. */
function readCapped(file: string, required: boolean): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CountersignError('USAGE', `cannot read the profile ${file}`, { cause });
  }
  try {
    const buf = Buffer.alloc(MAX_PROFILE_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buf.length; length += n)
      n = readSync(fd, buf, length, buf.length - length, null);
    if (length > MAX_PROFILE_BYTES)
      fail('USAGE', `profile ${file}: larger than ${MAX_PROFILE_BYTES} bytes`);
    return buf.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
