// Load generation with wrk (Debian package), pinned to the load core: one thread, C connections,
// `--latency` for the percentile table. Requests/s and p99 are read from its report.
import { pinned, run } from './procs.mjs';

const UNIT_MS = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1.23ms" → 1.23 (ms). */
export function parseDurationMs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`unexpected wrk duration ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Parses wrk 4.x's report (with --latency). Throws if the figures are not there. */
export function parseWrk(text) {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const total = /^\s*(\d+) requests in ([\d.]+\w+),/m.exec(text);
  if (!rps || !total) throw new Error(`cannot read wrk's report:\n${text}`);
  const pct = {};
  // wrk pads one-letter units ("2.00s ", "1.00m ") with a trailing space.
  const dist = /Latency Distribution\n((?:[ \t]+\d+%[ \t]+\S+[ \t]*\n)+)/.exec(text);
  if (dist) {
    for (const line of dist[1].trim().split('\n')) {
      const [p, v] = line.trim().split(/\s+/);
      pct[p] = parseDurationMs(v);
    }
  }
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: pct['50%'],
    p90Ms: pct['90%'],
    p99Ms: pct['99%'],
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    // A percentile missing is a report this parser did not expect: keep it for the JSON.
    ...(pct['99%'] === undefined ? { report: text } : {}),
  };
}

/**
 * One measurement. A run with non-2xx answers or socket errors is reported as an error: the
 * throughput of 404s says nothing about serving metadata.
 */
export async function wrk(url, { cpus, connections, durationS, warmupS = 0 }) {
  const args = (d) => ['-t1', `-c${connections}`, `-d${d}s`, '--latency', url];
  if (warmupS > 0) {
    const [cmd, argv] = pinned(cpus, 'wrk', args(warmupS));
    await run(cmd, argv);
  }
  const [cmd, argv] = pinned(cpus, 'wrk', args(durationS));
  const r = await run(cmd, argv, { timeoutMs: (durationS + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk exited ${r.code} for ${url}:\n${r.stdout}${r.stderr}`);
  const result = parseWrk(r.stdout);
  const problems = [];
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx answers`);
  if (result.socketErrors > 0) problems.push(`${result.socketErrors} socket errors`);
  return { ...result, url, error: problems.length ? problems.join(', ') : undefined };
}

/**
 * Measures several URLs `repeat` times in rounds (A B C, A B C, …) so that a shared machine's
 * drift hits each alike; per URL, the median run by throughput, whole (its own p99 and errors).
 * `targets`: { key → url }. Resolves with { key → result (+ runsRps when repeated) }.
 */
export async function wrkRounds(targets, load) {
  const repeat = load.repeat ?? 1;
  const runs = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let i = 0; i < repeat; i++) {
    for (const [k, url] of Object.entries(targets)) {
      runs[k].push(await wrk(url, { ...load, warmupS: i === 0 ? load.warmupS : 0 }));
    }
  }
  const out = {};
  for (const [k, rs] of Object.entries(runs)) {
    const median = [...rs].sort((a, b) => a.rps - b.rps)[(rs.length - 1) >> 1];
    out[k] = rs.length > 1 ? { ...median, runsRps: rs.map((r) => r.rps) } : median;
  }
  return out;
}
