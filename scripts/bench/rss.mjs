// Resident memory of a server while it is loaded: VmRSS from /proc, summed over its process
// tree (so a server that forks workers is measured whole), sampled on a timer; the max is kept.
import { readdirSync, readFileSync } from 'node:fs';

export function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      out.push(...text.split(/\s+/).filter(Boolean).map(Number));
    }
  } catch {
    // Exited, or a kernel without /proc/PID/task/TID/children.
  }
  return out;
}

export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]));
  return out;
}

/** VmRSS in bytes of one process, or 0 if it is gone. */
export function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export class RssSampler {
  constructor(intervalMs = 100) {
    this.intervalMs = intervalMs;
    this.watched = new Map(); // label → { pid, max, samples }
    this.timer = undefined;
  }

  watch(label, pid) {
    this.watched.set(label, { pid, max: 0, last: 0, samples: 0 });
    this.sample();
    if (!this.timer) {
      this.timer = setInterval(() => this.sample(), this.intervalMs);
      this.timer.unref();
    }
  }

  unwatch(label) {
    this.sample();
    const w = this.watched.get(label);
    if (w) w.pid = undefined;
  }

  sample() {
    for (const w of this.watched.values()) {
      if (w.pid === undefined) continue;
      const total = processTree(w.pid).reduce((sum, pid) => sum + rssOf(pid), 0);
      if (total === 0) continue;
      w.last = total;
      w.samples++;
      if (total > w.max) w.max = total;
    }
  }

  /** label → { maxBytes, lastBytes, samples } */
  result() {
    const out = {};
    for (const [label, w] of this.watched)
      out[label] = { maxBytes: w.max, lastBytes: w.last, samples: w.samples };
    return out;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
