/**
 * The OCI runtime spec (config.json) of a healthcheck-run container: what makes it a sandbox.
 * Every choice is listed in docs/store.md "Health checks run in a sandbox":
 *
 * - a user namespace mapping the container's IDs 0–65535 to an unprivileged host range
 *   (`uidBase`…), so even the image's root is nobody on the host; the rootfs was unpacked with
 *   the same mapping;
 * - new network, PID, IPC, UTS, mount and cgroup namespaces; the network namespace holds only
 *   `lo` (brought up by the runner between `runc create` and `runc start`);
 * - a read-only root, writable only through small tmpfs mounts (/tmp, /run, /dev/shm) of the
 *   disk limit each; /proc and /sys as runc masks them; no devices beyond runc's defaults;
 * - no capabilities at all, `noNewPrivileges`, a seccomp profile modeled on Docker's default
 *   (deploy/sandbox/seccomp.json), memory (no swap), CPU and pids limits, rlimits on open files,
 *   file size and core dumps.
 */
import { readFileSync } from 'node:fs';
import type { SandboxLimits } from './settings.js';

export const ID_RANGE = 65_536;

export interface ContainerProcess {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
}

export interface SpecInput {
  readonly process: ContainerProcess;
  readonly limits: SandboxLimits;
  readonly uidBase: number;
  readonly hostname: string;
  /** Where runc makes the container's cgroup (below each controller's root). */
  readonly cgroupsPath: string;
}

interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo: number; op: string }[];
}

interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  syscalls: SeccompRule[];
}

let profile: SeccompProfile | undefined;

/** deploy/sandbox/seccomp.json (three levels above dist/src/sandbox/), without its comments. */
export function seccompProfile(): SeccompProfile {
  if (profile) return profile;
  const raw = JSON.parse(
    readFileSync(new URL('../../../deploy/sandbox/seccomp.json', import.meta.url), 'utf8')
  ) as SeccompProfile;
  profile = {
    defaultAction: raw.defaultAction,
    architectures: raw.architectures,
    syscalls: raw.syscalls.map((r) => ({
      names: r.names,
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args ? { args: r.args } : {}),
    })),
  };
  return profile;
}

const TMPFS_OPTIONS = ['nosuid', 'nodev', 'noexec', 'mode=1777'];

function tmpfs(destination: string, sizeBytes: number, extra: string[] = []): object {
  return {
    destination,
    type: 'tmpfs',
    source: 'tmpfs',
    options: [...TMPFS_OPTIONS, ...extra, `size=${Math.floor(sizeBytes / 1024)}k`],
  };
}

/** config.json for runc; `rootfs` is the bundle's `rootfs` directory. */
export function runtimeSpec(input: SpecInput): Record<string, unknown> {
  const { process: p, limits } = input;
  const map = [{ containerID: 0, hostID: input.uidBase, size: ID_RANGE }];
  const cpuPeriod = 100_000;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: p.uid, gid: p.gid, additionalGids: [p.gid] },
      args: [...p.args],
      env: [...p.env],
      cwd: p.cwd,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
        { type: 'RLIMIT_FSIZE', hard: limits.diskBytes, soft: limits.diskBytes },
        { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
      ],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: input.hostname,
    mounts: mounts(limits),
    linux: {
      cgroupsPath: input.cgroupsPath,
      uidMappings: map,
      gidMappings: map,
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'].map((type) => ({
        type,
      })),
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: limits.memoryBytes, swap: limits.memoryBytes },
        cpu: { quota: Math.max(1000, Math.round(limits.cpus * cpuPeriod)), period: cpuPeriod },
        pids: { limit: limits.pids },
      },
      seccomp: seccompProfile(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

/** runc's (and Docker's) defaults: kernel interfaces a container has no business reading. */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** /proc, a minimal /dev, read-only /sys, and the small writable tmpfs mounts. */
function mounts(limits: SandboxLimits): object[] {
  return [
    {
      destination: '/proc',
      type: 'proc',
      source: 'proc',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=64k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    tmpfs('/dev/shm', limits.diskBytes),
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', 'ro'],
    },
    tmpfs('/tmp', limits.diskBytes),
    tmpfs('/run', limits.diskBytes),
  ];
}
