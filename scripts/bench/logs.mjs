// Server-side request times, read from each server's own request log: Countersign's JSON line
// (`msg: "request"`, `ms`) and notary-server's logrus line (`response completed`,
// `http.response.duration` as a Go duration).

const GO_UNITS_MS = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.Duration.String(): "850.1µs", "10.6ms", "1.2s", "1m2.5s" → ms. */
export function parseGoDurationMs(text) {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m; (m = re.exec(text));) {
    total += Number(m[1]) * GO_UNITS_MS[m[2]];
    end = re.lastIndex;
  }
  if (end === 0 || end !== text.length)
    throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
  return total;
}

function jsonLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A partial last line, or something else printed to the same file.
    }
  }
  return out;
}

/** Server ms of every update (POST /v2/GUN/_trust/tuf/) of `gun` in a Countersign log. */
export function countersignUpdateMs(logText, gun) {
  return jsonLines(logText)
    .filter(
      (l) =>
        l.msg === 'request' &&
        l.method === 'POST' &&
        l.path === `/v2/${gun}/_trust/tuf/` &&
        typeof l.ms === 'number'
    )
    .map((l) => ({ ms: l.ms, status: l.status }));
}

/** Server ms of every update of `gun` in a notary-server log (logging level info or lower). */
export function notaryServerUpdateMs(logText, gun) {
  return jsonLines(logText)
    .filter(
      (l) =>
        l.msg === 'response completed' &&
        l['http.request.method'] === 'POST' &&
        l['http.request.uri'] === `/v2/${gun}/_trust/tuf/`
    )
    .map((l) => ({
      ms: parseGoDurationMs(l['http.response.duration']),
      status: l['http.response.status'],
    }));
}
