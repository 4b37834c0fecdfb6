/**
 * The image's `User` resolved as Docker resolves it (moby/sys/user GetExecUser) against the
 * image's own /etc/passwd and /etc/group: `name`, `uid`, `name:group`, `uid:gid`; a name that
 * is not in the file stops the container from starting, a numeric ID need not be listed.
 * Both files are the image's (untrusted) bytes: read with a size cap, parsed line by line.
 */

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  /** The declared User, verbatim ('' = root by default). */
  readonly declared: string;
  /** Whether the user part is an entry of /etc/passwd (the hygiene extra). */
  readonly inPasswd: boolean;
}

/** At most this much of /etc/passwd or /etc/group is read. */
export const MAX_ACCOUNT_FILE_BYTES = 1024 * 1024;

const MAX_ID = 65_535;

interface Entry {
  readonly name: string;
  readonly id: number;
  readonly gid?: number;
}

function parseEntries(text: string, passwd: boolean): Entry[] {
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < (passwd ? 4 : 3) || f[0] === '' || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (!/^\d+$/.test(f[2]!) || !Number.isSafeInteger(id)) continue;
    const gid = passwd && /^\d+$/.test(f[3]!) ? Number(f[3]) : undefined;
    out.push({ name: f[0]!, id, ...(gid !== undefined ? { gid } : {}) });
  }
  return out;
}

/** The IDs the process runs as, or a sentence saying why Docker would refuse to start it. */
export function resolveUser(
  declared: string,
  passwdText: string | null,
  groupText: string | null
): ResolvedUser | { readonly error: string } {
  const spec = declared.trim();
  const passwd = parseEntries(passwdText ?? '', true);
  const groups = parseEntries(groupText ?? '', false);
  const [userPart = '', groupPart] = spec.split(':', 2) as [string?, string?];
  const user = userPart === '' ? 'root' : userPart;
  const byName = passwd.find((e) => e.name === user);
  const numeric = /^\d+$/.test(user) ? Number(user) : undefined;
  const byId = numeric !== undefined ? passwd.find((e) => e.id === numeric) : undefined;
  let uid: number;
  let gid: number;
  if (byName) {
    uid = byName.id;
    gid = byName.gid ?? 0;
  } else if (numeric !== undefined) {
    uid = numeric;
    gid = byId?.gid ?? 0;
  } else if (userPart === '') {
    uid = 0;
    gid = 0;
  } else {
    return { error: `unable to find user ${user}: no matching entries in the image's /etc/passwd` };
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = groups.find((e) => e.name === groupPart);
    if (g) gid = g.id;
    else if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else
      return {
        error: `unable to find group ${groupPart}: no matching entries in the image's /etc/group`,
      };
  }
  if (uid > MAX_ID || gid > MAX_ID)
    return { error: `User ${JSON.stringify(spec)} is outside the 65536 IDs the sandbox maps` };
  return { uid, gid, declared: spec, inPasswd: Boolean(byName ?? byId) };
}
