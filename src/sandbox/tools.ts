/**
 * Runs the sandbox's host programs (runc, umoci, skopeo, nsenter) with a timeout and a cap on
 * the output kept: a program fed an untrusted image must not hang the runner or fill its memory.
 */
import { spawn } from 'node:child_process';

export interface ToolResult {
  /** Exit status; -1 when killed on its timeout or by a signal. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface ToolOptions {
  readonly timeoutMs: number;
  /** Bytes kept of each of stdout and stderr (the rest is read and dropped). */
  readonly maxOutput?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const DEFAULT_MAX_OUTPUT = 1024 * 1024;

/** Runs `cmd args` to its end (or its timeout: SIGKILL). Never throws on a failing status. */
export function runTool(cmd: string, args: readonly string[], o: ToolOptions): Promise<ToolResult> {
  const started = Date.now();
  const max = o.maxOutput ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(o.env ? { env: o.env } : {}),
    });
    const out = capped(max);
    const err = capped(max);
    child.stdout.on('data', out.push);
    child.stderr.on('data', err.push);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    let done = false;
    const finish = (code: number, extra = '') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        code,
        stdout: out.text(),
        stderr: err.text() + extra,
        timedOut,
        durationMs: Date.now() - started,
      });
    };
    child.on('error', (e) => finish(-1, `${cmd}: ${e.message}`));
    child.on('close', (code) => finish(timedOut || code === null ? -1 : code));
    // A process the program started may keep its pipes open (a probe's background child):
    // once the program itself has exited, its output so far is all we wait for.
    child.on('exit', (code) => {
      setTimeout(() => finish(timedOut || code === null ? -1 : code), 200).unref();
    });
  });
}

/** Like runTool, but a failure (status ≠ 0, timeout) throws with the program's stderr. */
export async function runToolChecked(
  cmd: string,
  args: readonly string[],
  o: ToolOptions
): Promise<ToolResult> {
  const r = await runTool(cmd, args, o);
  if (r.code !== 0) {
    const why = r.timedOut ? `timed out after ${o.timeoutMs} ms` : `exited with ${r.code}`;
    throw new Error(`${cmd} ${args[0] ?? ''} ${why}: ${firstLines(r.stderr || r.stdout)}`);
  }
  return r;
}

/** A byte sink that keeps the first `max` bytes. */
export function capped(max: number): { push: (chunk: Buffer) => void; text: () => string } {
  const parts: Buffer[] = [];
  let kept = 0;
  return {
    push: (chunk: Buffer) => {
      if (kept >= max) return;
      const part = chunk.subarray(0, max - kept);
      parts.push(part);
      kept += part.length;
    },
    text: () => Buffer.concat(parts).toString('utf8'),
  };
}

/**
 * Splits a byte stream into lines for `onLine`; after `max` bytes in all the rest is dropped
 * (the runner process's output is ours, but a bug there must not fill the server's memory).
 */
export function lineSplitter(
  max: number,
  onLine: (line: string) => void
): { push: (chunk: Buffer) => void; end: () => void } {
  let pending = '';
  let seen = 0;
  return {
    push: (chunk: Buffer) => {
      if (seen >= max) return;
      const part = chunk.subarray(0, max - seen);
      seen += part.length;
      const lines = (pending + part.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(line);
    },
    end: () => {
      if (pending.trim() !== '') onLine(pending);
      pending = '';
    },
  };
}

export function firstLines(text: string, max = 600): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
