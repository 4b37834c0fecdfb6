// Turns the measurements into the issue's goals (met / not met) and a plain-text table.

export const GOALS = {
  getVsNotary: 2.0, // × notary-server req/s, every current role
  getVsCeiling: 0.7, // of the bare node:http ceiling in the same run
  p99Ms: 5,
  consistentVsCurrent: 0.8, // by-checksum / by-version vs the current file
  publishRatio: 1.0, // countersign ms / notary-server ms, at most
  uploadServerMs: 250,
  bigVsCeiling: 0.7, // big targets.json by checksum: of the ceiling for the same bytes
  rssBytes: 200 * 1024 * 1024,
  historyConsistentVsNotary: 1.0, // long history: by-version and by-checksum × notary-server
  readsDuringUploadP99: 2.0, // GET p99 during large uploads / idle p99, at most
};

/** Long-history rows that are current-role reads (the others: by version, by checksum). */
const HISTORY_CURRENT = ['timestamp', 'snapshot', 'targets', 'root', 'delegation'];

const ratio = (a, b) => (a && b ? a / b : undefined);

/**
 * a / b for one figure of two servers. Repeated (`--repeat N`), the servers ran in rounds, one
 * after the other within each round; the ratio is then the median of the N per-round ratios, so
 * that the drift of a shared machine between rounds (often ±20% here) cancels within each pair
 * instead of landing on one server. A single run: the plain ratio.
 */
export function pairedRatio(a, b) {
  const ra = a?.runsRps;
  const rb = b?.runsRps;
  if (ra && rb && ra.length === rb.length && ra.length > 0)
    return median(ra.map((x, i) => x / rb[i]));
  return ratio(a?.rps, b?.rps);
}

export function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Adds ratio and share of the ceiling to each GET row. */
export function deriveGetRow(row) {
  const cs = row.countersign;
  return {
    ...row,
    ratio: pairedRatio(cs, row.notaryServer),
    ofCeiling: pairedRatio(cs, row.bare),
  };
}

function check(name, met, detail) {
  return { goal: name, met: met === undefined ? null : Boolean(met), detail };
}

const f1 = (n) => (n === undefined ? 'n/a' : n.toFixed(1));
const f2 = (n) => (n === undefined ? 'n/a' : n.toFixed(2));
const pct = (n) => (n === undefined ? 'n/a' : `${Math.round(n * 100)}%`);
const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
/** How far the bare node:http ceiling is above notary-server on a row (n/a without both). */
const ceilingVsNotary = (g) =>
  g.bare?.rps && g.notaryServer?.rps ? `${f2(g.bare.rps / g.notaryServer.rps)}×` : 'n/a';
const mb = (b) => (b === undefined ? 'n/a' : `${(b / 1024 / 1024).toFixed(0)} MB`);

export function evaluateGoals(r) {
  const goals = [];
  const byId = Object.fromEntries(r.gets.map((g) => [g.id, g]));
  for (const id of ['timestamp', 'snapshot', 'targets', 'root']) {
    const g = byId[id];
    if (!g) continue;
    const bad = [g.countersign?.error, g.notaryServer?.error, g.bare?.error].filter(Boolean);
    const parts = [
      `${f2(g.ratio)}× notary-server (≥ ${GOALS.getVsNotary})`,
      `${pct(g.ofCeiling)} of node ceiling (≥ ${pct(GOALS.getVsCeiling)})`,
      `p99 ${f2(g.countersign?.p99Ms)} ms (< ${GOALS.p99Ms})`,
    ];
    const met =
      bad.length === 0 &&
      g.ratio >= GOALS.getVsNotary &&
      g.ofCeiling >= GOALS.getVsCeiling &&
      g.countersign.p99Ms < GOALS.p99Ms;
    goals.push(
      check(
        `GET ${g.what}`,
        met,
        parts.join(', ') + (bad.length ? `; errors: ${bad.join('; ')}` : '')
      )
    );
  }
  for (const [id, currentId] of [
    ['snapshotByHash', 'snapshot'],
    ['rootByVersion', 'root'],
  ]) {
    const g = byId[id];
    const c = byId[currentId];
    if (!g || !c) continue;
    // Measured minutes apart, so each is first taken as its share of the ceiling measured with
    // it (the same bytes): the machine's drift in between cancels. The raw ratio is shown too.
    const share = ratio(g.ofCeiling, c.ofCeiling);
    const raw = ratio(g.countersign?.rps, c.countersign?.rps);
    goals.push(
      check(
        `GET ${g.what} vs ${c.what}`,
        share >= GOALS.consistentVsCurrent && !g.countersign?.error,
        `${pct(share)} of current, each as a share of its ceiling (≥ ${pct(GOALS.consistentVsCurrent)}); req/s ${pct(raw)} of current`
      )
    );
  }
  const p = r.publish;
  if (p) {
    const pr = ratio(p.countersign.medianMs, p.notaryServer.medianMs);
    goals.push(
      check(
        'notary CLI publish, end to end',
        pr <= GOALS.publishRatio,
        `median ${f1(p.countersign.medianMs)} ms vs ${f1(p.notaryServer.medianMs)} ms: ratio ${f2(pr)} (≤ ${GOALS.publishRatio})`
      )
    );
  }
  const u = r.upload;
  if (u) {
    const ms = u.countersign.serverMs;
    goals.push(
      check(
        `${u.targets}-target targets.json upload, server time`,
        ms !== undefined && ms < GOALS.uploadServerMs,
        `${f1(ms)} ms (< ${GOALS.uploadServerMs}); notary-server ${f1(u.notaryServer.serverMs)} ms`
      )
    );
    const g = byId.bigByHash;
    if (g) {
      goals.push(
        check(
          `GET ${g.what} afterwards`,
          g.ofCeiling >= GOALS.bigVsCeiling && !g.countersign?.error,
          `${pct(g.ofCeiling)} of node ceiling (≥ ${pct(GOALS.bigVsCeiling)}), ${f2(g.ratio)}× notary-server`
        )
      );
    }
  }
  goals.push(...historyGoals(r), ...uploadGoals(r));
  // Every single-process server in its default configuration: the GETs', the one with request
  // logs, the long history's (311 large uploads) and the one taking 10,000-target uploads. A
  // --workers tree, the event-loop-parsing comparison and the PostgreSQL instances are reported
  // for information only.
  const measured = [
    'countersign',
    'countersign-info',
    'countersign-history',
    'countersign-uploads-worker',
  ].filter((k) => r.rss?.[k]);
  if (measured.length) {
    const max = Math.max(...measured.map((k) => r.rss[k].maxBytes));
    const which = measured.find((k) => r.rss[k].maxBytes === max);
    goals.push(
      check(
        'Countersign RSS during the benchmark',
        max < GOALS.rssBytes,
        `max ${mb(max)} (${which}; < ${mb(GOALS.rssBytes)})`
      )
    );
  }
  return goals;
}

/** Long history: every current role ≥ 2× notary-server, by version and by checksum ≥ 1×. */
export function historyGoals(r) {
  const h = r.history;
  if (!h) return [];
  return h.gets.map((g) => {
    const current = HISTORY_CURRENT.includes(g.id);
    const want = current ? GOALS.getVsNotary : GOALS.historyConsistentVsNotary;
    const bad = [g.countersign?.error, g.notaryServer?.error].filter(Boolean);
    return check(
      `long history (${h.versions} versions, ${h.targets} targets): GET ${g.what}`,
      bad.length === 0 && g.ratio >= want,
      `${f2(g.ratio)}× notary-server (≥ ${want}), ${pct(g.ofCeiling)} of node ceiling, which is ${ceilingVsNotary(g)} notary-server${bad.length ? `; errors: ${bad.join('; ')}` : ''}`
    );
  });
}

/**
 * Reads during large uploads: with the worker, p99 within 2× of idle; inline and notary-server for
 * information.
 */
export function uploadGoals(r) {
  const w = r.uploads?.worker;
  if (!w) return [];
  const bad = [w.idle.error, w.during.error].filter(Boolean);
  return [
    check(
      `GET p99 during ${r.uploads.targets}-target uploads vs idle`,
      bad.length === 0 && !w.ranOut && w.uploads > 0 && w.p99Ratio <= GOALS.readsDuringUploadP99,
      `${f2(w.during.p99Ms)} vs ${f2(w.idle.p99Ms)} ms: ${f2(w.p99Ratio)}× (≤ ${GOALS.readsDuringUploadP99}), ${w.uploads} uploads${w.ranOut ? ', but the prepared uploads ran out' : ''}${r.uploads.inline ? `; on the event loop: ${f2(r.uploads.inline.p99Ratio)}×` : ''}${r.uploads.notaryServer ? `; notary-server: ${f2(r.uploads.notaryServer.p99Ratio)}×` : ''}`
    ),
  ];
}

function formatHistory(r) {
  const h = r.history;
  const rows = h.gets.map((g) => [
    g.what,
    rps(g.countersign),
    rps(g.notaryServer),
    g.ratio === undefined ? 'n/a' : `${f2(g.ratio)}×`,
    g.bytes === undefined ? 'n/a' : kib(g.bytes),
    rps(g.bare),
    pct(g.ofCeiling),
    ceilingVsNotary(g),
    p99(g.countersign),
    p99(g.notaryServer),
  ]);
  return [
    `Long history: ${HISTORY_NAME}, ${h.versions} targets versions of ${h.targets} targets, a delegation; ${h.uploads} uploads each (POST median ${f1(h.postMedianMs.countersign)} ms vs ${f1(h.postMedianMs.notaryServer)} ms)`,
    table(
      [
        'GET (req/s)',
        'countersign',
        'notary-server',
        'ratio',
        'body',
        'node ceiling',
        '% of ceiling',
        'ceiling vs ns',
        'p99 ms cs',
        'p99 ms ns',
      ],
      rows
    ),
    '  ("ceiling vs ns": the bare node:http ceiling for the same bytes over notary-server: the most any Node server could reach on that row)',
    '',
  ];
}
const HISTORY_NAME = 'bench.test/history';

function formatUploads(r) {
  const u = r.uploads;
  const labels = {
    worker: 'countersign, parsed in the worker (default)',
    inline: 'countersign, parsed on the event loop',
    notaryServer: 'notary-server (for comparison)',
  };
  const rows = Object.entries(labels).flatMap(([k, label]) => {
    const v = u[k];
    if (!v) return [];
    return [
      [
        label,
        rps(v.idle),
        p99(v.idle),
        rps(v.during),
        p99(v.during),
        `${f2(v.p99Ratio)}×`,
        `${v.uploads}${v.ranOut ? ' (ran out)' : ''}`,
        f1(median(v.uploadMs)),
      ],
    ];
  });
  return [
    `Reads during ${u.targets}-target uploads back to back (GET ${u.what})`,
    table(
      [
        'server',
        'idle req/s',
        'idle p99',
        'during req/s',
        'during p99',
        'p99 ratio',
        'uploads',
        'upload ms',
      ],
      rows
    ),
    '',
  ];
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const rps = (w) =>
  w === undefined ? 'n/a' : w.error ? `ERR ${Math.round(w.rps)}` : String(Math.round(w.rps));
const p99 = (w) => (w?.p99Ms === undefined ? 'n/a' : w.p99Ms.toFixed(2));

export function formatReport(r) {
  const out = [];
  out.push(
    `Countersign benchmark  ${r.startedAt}  (${r.machine.cpus} CPUs ${r.machine.cpuModel}; server on CPU ${r.options.serverCpu}, wrk/notary CLI on CPU ${r.options.loadCpu})`
  );
  const la = (l) => (l ? l.map((x) => x.toFixed(1)).join(' ') : 'n/a');
  out.push(
    `load average at start ${la(r.machine.loadAverage)}, at end ${la(r.machine.loadAverageAtEnd)} (near 0 on an otherwise idle machine; higher means other work shares the CPUs: expect noise)`
  );
  if (r.options.cpuProf)
    out.push(
      `Countersign ran under node --cpu-prof (profiles in ${r.options.cpuProf}): its figures include the profiler's cost`
    );
  const servers = r.gets.length
    ? `Countersign --log-level warn, SQLite; notary-server ${r.machine.notaryServer}, memory backend, log level warn`
    : `Countersign --log-level warn; notary-server ${r.machine.notaryServer}, log level warn`;
  out.push(
    `wrk -t1 -c${r.options.connections} -d${r.options.durationS}s --latency (after a ${r.options.warmupS} s warm-up${r.options.repeat > 1 ? `; median of ${r.options.repeat} runs` : ''}); ${servers}`
  );
  out.push('');
  if (r.gets.length) out.push(mainGets(r), '');
  out.push(...otherTables(r));
  if (r.history) out.push(...formatHistory(r));
  if (r.uploads) out.push(...formatUploads(r));
  if (r.postgres) out.push(...formatPostgres(r));
  out.push('Goals');
  if (r.goals.length === 0) out.push('  (none evaluated: they need the memory-backend phases)');
  for (const g of r.goals)
    out.push(`  [${g.met === null ? ' n/a ' : g.met ? ' met ' : ' MISS'}] ${g.goal}: ${g.detail}`);
  return out.join('\n');
}

function mainGets(r) {
  return table(
    [
      'GET (req/s)',
      'countersign',
      'notary-server',
      'ratio',
      'node ceiling',
      '% of ceiling',
      'p99 ms cs',
      'p99 ms ns',
      'p99 ms node',
    ],
    r.gets.map((g) => [
      g.what,
      rps(g.countersign),
      rps(g.notaryServer),
      g.ratio === undefined ? 'n/a' : `${f2(g.ratio)}×`,
      rps(g.bare),
      pct(g.ofCeiling),
      p99(g.countersign),
      p99(g.notaryServer),
      p99(g.bare),
    ])
  );
}

/** The other GETs and figures of the memory-backend phases, as lines. */
function otherTables(r) {
  const out = [];
  const extra = [];
  if (r.express)
    extra.push([
      `Express 5 route, ${r.express.what}`,
      rps(r.express.wrk),
      pct(ratio(r.express.wrk.rps, r.express.bareRps)),
      p99(r.express.wrk),
    ]);
  if (r.logging) {
    extra.push([
      `countersign default logging (info), ${r.logging.what}`,
      rps(r.logging.countersign),
      pct(ratio(r.logging.countersign?.rps, r.logging.countersignWarnRps)),
      p99(r.logging.countersign),
    ]);
    if (r.logging.notaryServer)
      extra.push([
        `notary-server logging at info, ${r.logging.what}`,
        rps(r.logging.notaryServer),
        pct(ratio(r.logging.notaryServer?.rps, r.logging.notaryServerWarnRps)),
        p99(r.logging.notaryServer),
      ]);
  }
  if (r.workers?.wrk)
    extra.push([
      `countersign --workers ${r.workers.n}, ${r.workers.what}`,
      rps(r.workers.wrk),
      pct(ratio(r.workers.wrk.rps, r.workers.singleRps)),
      p99(r.workers.wrk),
    ]);
  if (extra.length) {
    out.push(table(['other GETs (req/s)', 'req/s', 'vs reference', 'p99 ms'], extra));
    out.push(
      '  (reference: Express vs bare node:http; logging rows vs the same server at warn; workers vs one process)'
    );
    if (r.workers && !r.workers.wrk)
      out.push(`  countersign --workers ${r.workers.n}: ${r.workers.status}`);
    out.push('');
  } else if (r.workers && !r.workers.wrk) {
    out.push(`countersign --workers ${r.workers.n}: ${r.workers.status}`, '');
  }
  const other = [];
  if (r.publish) {
    const p = r.publish;
    other.push([
      `notary add -p, one target (median of ${p.runs}) ms`,
      f1(p.countersign.medianMs),
      f1(p.notaryServer.medianMs),
      f2(ratio(p.countersign.medianMs, p.notaryServer.medianMs)),
    ]);
    if (p.countersign.serverMedianMs !== undefined) {
      other.push([
        '  of which server time (POST, median) ms',
        f1(p.countersign.serverMedianMs),
        f1(p.notaryServer.serverMedianMs),
        f2(ratio(p.countersign.serverMedianMs, p.notaryServer.serverMedianMs)),
      ]);
    }
  }
  if (r.upload) {
    const u = r.upload;
    other.push([
      `${u.targets}-target upload: server time ms`,
      f1(u.countersign.serverMs),
      f1(u.notaryServer.serverMs),
      f2(ratio(u.countersign.serverMs, u.notaryServer.serverMs)),
    ]);
    other.push([
      `${u.targets}-target upload: notary publish, end to end ms`,
      f1(u.countersign.e2eMs),
      f1(u.notaryServer.e2eMs),
      f2(ratio(u.countersign.e2eMs, u.notaryServer.e2eMs)),
    ]);
  }
  if (r.rss?.countersign) {
    other.push([
      'max RSS during loads',
      mb(r.rss.countersign?.maxBytes),
      mb(r.rss['notary-server']?.maxBytes),
      f2(ratio(r.rss.countersign?.maxBytes, r.rss['notary-server']?.maxBytes)),
    ]);
    for (const [k, v] of Object.entries(r.rss)) {
      if (k !== 'countersign' && k.startsWith('countersign') && !k.startsWith('countersign-pg'))
        other.push([`max RSS, ${k}`, mb(v.maxBytes), '', '']);
    }
  }
  if (other.length) {
    out.push(table(['other figures', 'countersign', 'notary-server', 'ratio'], other));
    out.push('');
  }
  return out;
}

/** The PostgreSQL block, as lines: for information, no goals. */
export function formatPostgres(r) {
  const pg = r.postgres;
  const w = pg.consistencyWindowMs;
  const out = [];
  const s = pg.settings ?? {};
  out.push(
    `PostgreSQL backend, both servers (for information, not goals): ${pg.version}, fsync ${s.fsync}, synchronous_commit ${s.synchronous_commit}, pinned with the servers to CPU ${r.options.serverCpu}`
  );
  out.push(
    `  countersign: consistencyWindowMs ${w.countersign} (the default) unless marked; "no window": consistencyWindowMs ${w.countersignNoWindow} (single instance)`
  );
  const sqlite = Object.fromEntries(r.gets.map((g) => [g.id, g]));
  const gets = pg.gets.map((g) => [
    g.what,
    rps(g.countersign),
    rps(g.notaryServer),
    g.ratio === undefined ? 'n/a' : `${f2(g.ratio)}×`,
    p99(g.countersign),
    p99(g.notaryServer),
    pct(ratio(g.countersign?.rps, sqlite[g.id]?.countersign?.rps)),
  ]);
  out.push(
    table(
      [
        'GET on PostgreSQL (req/s)',
        'countersign',
        'notary-server',
        'ratio',
        'p99 ms cs',
        'p99 ms ns',
        'cs vs SQLite',
      ],
      gets
    )
  );
  const other = [];
  for (const g of pg.gets.filter((x) => x.countersignNoWindow)) {
    other.push([
      `GET ${g.what}, countersign no window, req/s`,
      rps(g.countersignNoWindow),
      rps(g.notaryServer),
      f2(ratio(g.countersignNoWindow.rps, g.notaryServer?.rps)),
    ]);
  }
  const p = pg.publish;
  if (p) {
    other.push([
      `notary add -p (median of ${p.runs}) ms, window ${w.countersign} ms`,
      f1(p.countersign.medianMs),
      f1(p.notaryServer.medianMs),
      f2(ratio(p.countersign.medianMs, p.notaryServer.medianMs)),
    ]);
    other.push([
      `notary add -p (median of ${p.runs}) ms, no window`,
      f1(p.countersignNoWindow.medianMs),
      f1(p.notaryServer.medianMs),
      f2(ratio(p.countersignNoWindow.medianMs, p.notaryServer.medianMs)),
    ]);
  }
  const sessions = pg.sessionsDuringGets;
  if (sessions)
    other.push([
      'PostgreSQL connections opened during the GETs',
      String(sessions.countersign),
      String(sessions.notaryServer),
      '',
    ]);
  const rss = (k) => r.rss?.[k]?.maxBytes;
  if (rss('countersign-pg') !== undefined)
    other.push([
      'max RSS, PostgreSQL instances',
      mb(rss('countersign-pg')),
      mb(rss('notary-server-pg')),
      f2(ratio(rss('countersign-pg'), rss('notary-server-pg'))),
    ]);
  out.push('');
  out.push(table(['on PostgreSQL', 'countersign', 'notary-server', 'ratio'], other));
  out.push(
    '  (the database server is not in the RSS figures; "cs vs SQLite": the same GET in the SQLite figures above)'
  );
  out.push('');
  return out;
}
