/**
 * The runc commands of a run, all under one state directory (`--root`) that holds only the
 * sandbox's containers, so a sweep can list and delete them by name prefix.
 */
import { readFile } from 'node:fs/promises';
import { runTool, runToolChecked, type ToolResult } from './tools.js';

/** Every healthcheck-run container's ID starts with this. */
export const CONTAINER_PREFIX = 'countersign-hc-';

export class Runc {
  constructor(readonly root: string) {}

  /** Creates the container stopped before its entrypoint (init waits on runc's fifo). */
  async create(id: string, bundle: string, pidFile: string): Promise<void> {
    await runToolChecked(
      'runc',
      [...this.base(), 'create', '--bundle', bundle, '--pid-file', pidFile, id],
      { timeoutMs: 30_000 }
    );
  }

  async start(id: string): Promise<void> {
    await runToolChecked('runc', [...this.base(), 'start', id], { timeoutMs: 30_000 });
  }

  /** Runs argv inside the container; killed (exit -1) after timeoutMs. */
  exec(
    id: string,
    argv: readonly string[],
    timeoutMs: number,
    maxOutput: number
  ): Promise<ToolResult> {
    return runTool('runc', [...this.base(), 'exec', id, ...argv], { timeoutMs, maxOutput });
  }

  /** `created`, `running`, `stopped`, … or null when runc does not know the container. */
  async status(id: string): Promise<string | null> {
    const r = await runTool('runc', [...this.base(), 'state', id], { timeoutMs: 15_000 });
    if (r.code !== 0) return null;
    return (JSON.parse(r.stdout) as { status?: string }).status ?? null;
  }

  /** Kills and deletes it; absent is fine. */
  async remove(id: string): Promise<void> {
    await runTool('runc', [...this.base(), 'delete', '--force', id], { timeoutMs: 30_000 });
  }

  /** IDs of the containers in this state directory. */
  async list(): Promise<string[]> {
    const r = await runTool('runc', [...this.base(), 'list', '--format', 'json'], {
      timeoutMs: 15_000,
    });
    if (r.code !== 0) return [];
    const parsed = JSON.parse(r.stdout || 'null') as { id: string }[] | null;
    return (parsed ?? []).map((c) => c.id);
  }

  private base(): string[] {
    return ['--root', this.root];
  }
}

/** The cgroup (under each controller's root) runc puts a sandbox container in. */
export function cgroupPathOf(id: string): string {
  return `/countersign-hc/${id}`;
}

/**
 * Limits the container hit, from its cgroup's event counters (read before `runc delete`; the
 * counters outlive its processes). cgroup v2 keeps them in one directory, v1 per controller.
 */
export async function limitsHit(id: string): Promise<string[]> {
  const base = '/sys/fs/cgroup';
  const v2 = await readFile(`${base}/cgroup.controllers`, 'utf8').then(
    () => true,
    () => false
  );
  const file = (controller: string, name: string) =>
    readFile(
      v2
        ? `${base}${cgroupPathOf(id)}/${name}`
        : `${base}/${controller}${cgroupPathOf(id)}/${name}`,
      'utf8'
    ).catch(() => '');
  const hit: string[] = [];
  const pidsMax = counter(await file('pids', 'pids.events'), 'max');
  if (pidsMax > 0) {
    const limit = (await file('pids', 'pids.max')).trim();
    hit.push(`it reached its pids limit of ${limit} (${pidsMax} fork(s) refused)`);
  }
  const oomKills = v2
    ? counter(await file('memory', 'memory.events'), 'oom_kill')
    : counter(await file('memory', 'memory.oom_control'), 'oom_kill');
  const memMax = v2
    ? counter(await file('memory', 'memory.events'), 'max')
    : Number((await file('memory', 'memory.failcnt')).trim() || 0);
  if (oomKills > 0) hit.push(`the kernel killed ${oomKills} process(es) at its memory limit`);
  else if (memMax > 0) hit.push('it reached its memory limit');
  return hit;
}

/** `name N` of a flat-keyed cgroup file. */
function counter(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
