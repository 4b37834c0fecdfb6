// Child processes and temporary directories of one benchmark run. Everything started here is
// registered so that a normal exit, an error or Ctrl-C kills it (its whole process group) and
// removes the temporary directories: a benchmark must never leave a server holding a core.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// pid → how to end it in a hurry: SIGKILL to its process group, or (PostgreSQL) a signal to the
// process alone, which then ends its children itself (they leave its group: see Service.start).
const liveGroups = new Map();
const tempDirs = new Set();
let hooksInstalled = false;

function killAllNow() {
  for (const [pid, signal] of liveGroups) {
    try {
      if (signal) process.kill(pid, signal);
      else process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  liveGroups.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every process it started\n`);
      killAllNow();
      process.exit(130);
    });
  }
}

export function makeTempDir(prefix) {
  installHooks();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** `taskset -c CPUS cmd args` (taskset execs, so the pid is the program's own). */
export function pinned(cpus, cmd, args) {
  return cpus === undefined ? [cmd, args] : ['taskset', ['-c', String(cpus), cmd, ...args]];
}

/**
 * Runs a command to completion; resolves with code, stdout, stderr and wall time in ms
 * (measured from spawn to exit, so it includes process start-up as a user would see it).
 */
export function run(cmd, args, { cwd, env, input, timeoutMs = 300_000 } = {}) {
  installHooks();
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, detached: true, stdio: 'pipe' });
    liveGroups.set(child.pid, undefined);
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Gone in between.
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      liveGroups.delete(child.pid);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveGroups.delete(child.pid);
      resolve({
        code: code ?? 128,
        signal,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export async function runChecked(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`.trim());
  }
  return r;
}

/**
 * A long-running server. Its output goes to a file, not a pipe: a pipe would make this process
 * read every request log line (costing CPU on the load generator's core) or, unread, block it.
 */
export class Service {
  constructor(name, child, logFile, stopSignal) {
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.logFile = logFile;
    this.stopSignal = stopSignal;
    this.exit = undefined;
    /** Set once stop() is called: a signal death before that came from outside. */
    this.stopping = false;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        liveGroups.delete(child.pid);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    child.on('error', (e) => {
      this.exit = { code: -1, signal: null, error: e.message };
    });
  }

  /**
   * `stopSignal`: for a server whose children leave its process group (PostgreSQL's each start a
   * session of their own, so a group kill misses them), the signal that makes it end them and
   * then itself (PostgreSQL: SIGQUIT, immediate shutdown); sent to the process alone, also on
   * Ctrl-C. Otherwise the whole group gets SIGTERM, and SIGKILL on Ctrl-C.
   */
  static start(name, cmd, args, { cwd, env, logFile, stopSignal }) {
    installHooks();
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    if (child.pid !== undefined) liveGroups.set(child.pid, stopSignal);
    return new Service(name, child, logFile, stopSignal);
  }

  output() {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Polls the log file for a line matching `re`; rejects if the process exits or time runs out. */
  async waitForOutput(re, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output());
      if (m) return m;
      if (this.exit)
        throw new Error(
          `${this.name} exited (${JSON.stringify(this.exit)}):\n${tail(this.output())}`
        );
      if (Date.now() > deadline)
        throw new Error(
          `${this.name} did not print ${re} within ${timeoutMs} ms:\n${tail(this.output())}`
        );
      await sleep(50);
    }
  }

  async waitForUrl(url, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await httpGet(url);
        if (r.status === 200) return;
      } catch {
        // Not listening yet.
      }
      if (this.exit)
        throw new Error(
          `${this.name} exited (${JSON.stringify(this.exit)}):\n${tail(this.output())}`
        );
      if (Date.now() > deadline)
        throw new Error(
          `${this.name} did not answer ${url} within ${timeoutMs} ms:\n${tail(this.output())}`
        );
      await sleep(50);
    }
  }

  /** SIGTERM to the process group (or `stopSignal` to the process), SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000) {
    if (this.exit) return this.exit;
    this.stopping = true;
    try {
      if (this.stopSignal) process.kill(this.pid, this.stopSignal);
      else process.kill(-this.pid, 'SIGTERM');
    } catch {
      return this.exited;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // Gone in between.
      }
    }, graceMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

export function tail(text, lines = 30) {
  return text.split('\n').slice(-lines).join('\n');
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port that was free a moment ago (for programs that cannot listen on port 0 and say which). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** GET over plain HTTP, a new connection each time; resolves with status, headers and body. */
export function httpGet(url, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) })
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The response headers a ceiling server repeats with Countersign's bytes. */
export function cachedHeaders(headers) {
  const out = {};
  for (const n of ['content-type', 'cache-control', 'last-modified'])
    if (headers[n] !== undefined) out[n] = headers[n];
  return out;
}
