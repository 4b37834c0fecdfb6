/**
 * The container's side of a run: the process Docker would start (entrypoint + cmd, env,
 * working directory, user from the image's own account files), read from the unpacked rootfs
 * without ever following a link the image planted (the files are untrusted).
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerProcess } from './oci-spec.js';
import { MAX_ACCOUNT_FILE_BYTES, resolveUser, type ResolvedUser } from './user.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Reads rootfs/etc/NAME if `etc` is a real directory and NAME a regular file; else null. */
export async function readAccountFile(rootfs: string, name: string): Promise<string | null> {
  const etc = join(rootfs, 'etc');
  const dir = await lstat(etc).catch(() => null);
  if (!dir?.isDirectory()) return null;
  const path = join(etc, name);
  const st = await lstat(path).catch(() => null);
  if (!st?.isFile()) return null;
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(Math.min(st.size, MAX_ACCOUNT_FILE_BYTES));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

export type ProcessPlan =
  | { readonly process: ContainerProcess; readonly user: ResolvedUser }
  | { readonly error: string; readonly user?: ResolvedUser };

/** The main process of the image config (`config.config`), as `docker run IMAGE` starts it. */
export async function processFor(
  runConfig: Record<string, unknown>,
  rootfs: string
): Promise<ProcessPlan> {
  const strings = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : [];
  const declared = typeof runConfig.User === 'string' ? runConfig.User : '';
  const user = resolveUser(
    declared,
    await readAccountFile(rootfs, 'passwd'),
    await readAccountFile(rootfs, 'group')
  );
  if ('error' in user) return { error: user.error };
  const args = [...strings(runConfig.Entrypoint), ...strings(runConfig.Cmd)];
  if (args.length === 0) return { error: 'the image has no Entrypoint or Cmd to start', user };
  const env = strings(runConfig.Env);
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  const cwd =
    typeof runConfig.WorkingDir === 'string' && runConfig.WorkingDir.startsWith('/')
      ? runConfig.WorkingDir
      : '/';
  return { process: { args, env, cwd, uid: user.uid, gid: user.gid }, user };
}
