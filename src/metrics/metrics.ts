/**
 * Prometheus metrics (prom-client behind this one module), with notary-server's families
 * (docs/protocol.md §1.4 "/metrics"), Node's process metrics and `countersign_build_info`.
 * `/metrics` is anonymous, as notary-server's: no family may name a GUN an anonymous client
 * could not read (docs/freshness.md "Metrics", src/freshness/metrics.ts).
 *
 * The read path records every request, so recording is kept to a counter bump and three array
 * writes; the summaries' quantile sketches are fed from those buffers when /metrics is scraped
 * (prom-client's `collect` hook), not on the request path. A buffer that fills between scrapes
 * keeps the newest observations.
 */
import client from 'prom-client';
import type { Operation } from '../http/notary-routes.js';

/** Where one (operation, method, status) combination is recorded; see `RequestMetrics.slot`. */
export interface MetricSlot {
  readonly count: { n: number };
  readonly pending: Pending;
}

export interface RequestMetrics {
  /**
   * The recording place of one combination, looked up once: a caller that answers the same
   * combination again and again (the read cache) keeps it and calls `record`, saving the
   * label-key string and two map lookups per request.
   */
  slot(operation: Operation, method: string, status: number): MetricSlot;
  record(slot: MetricSlot, durationUs: number, requestBytes: number, responseBytes: number): void;
  observe(
    operation: Operation,
    method: string,
    status: number,
    durationUs: number,
    requestBytes: number,
    responseBytes: number
  ): void;
  render(): Promise<{ contentType: string; body: string }>;
  /** The registry, for other modules' gauges (expiry, …). */
  readonly registry: client.Registry;
}

const BUFFER = 8192;

/** Recent observations of one operation, drained at scrape time. */
class Pending {
  readonly duration = new Float64Array(BUFFER);
  readonly request = new Float64Array(BUFFER);
  readonly response = new Float64Array(BUFFER);
  count = 0;
}

/** What `countersign_build_info` says about this process. */
export interface BuildInfo {
  readonly version: string;
  /** Node's version, e.g. v20.19.0. */
  readonly node: string;
}

export function createMetrics(build: BuildInfo): RequestMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  // The usual build_info pattern: constant 1, the facts in labels, for joins and dashboards.
  new client.Gauge({
    name: 'countersign_build_info',
    help: 'Always 1; the labels say which Countersign version runs on which Node.js version.',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: build.version, node: build.node }, 1);
  const counts = new Map<
    string,
    { labels: { code: string; method: string; operation: string }; n: number }
  >();
  const pending = new Map<Operation, Pending>();

  // Every family drains the buffers before it is serialized, whichever prom-client reads first.
  const drain = () => {
    for (const c of counts.values()) {
      if (c.n > 0) total.inc(c.labels, c.n);
      c.n = 0;
    }
    for (const [operation, p] of pending) {
      const n = Math.min(p.count, BUFFER);
      for (let i = 0; i < n; i++) {
        duration.observe({ operation }, p.duration[i] as number);
        reqSize.observe({ operation }, p.request[i] as number);
        resSize.observe({ operation }, p.response[i] as number);
      }
      p.count = 0;
    }
  };
  const total: client.Counter<'code' | 'method' | 'operation'> = new client.Counter({
    name: 'notary_server_http_requests_total',
    help: 'Number of HTTP requests by operation, method and status code.',
    labelNames: ['code', 'method', 'operation'],
    registers: [registry],
    collect: drain,
  });
  const summary = (name: string, help: string) =>
    new client.Summary({
      name,
      help,
      labelNames: ['operation'],
      percentiles: [0.5, 0.9, 0.99],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers: [registry],
      collect: drain,
    });
  const duration = summary(
    'notary_server_http_request_duration_microseconds',
    'HTTP request latencies in microseconds.'
  );
  const reqSize = summary('notary_server_http_request_size_bytes', 'HTTP request sizes in bytes.');
  const resSize = summary(
    'notary_server_http_response_size_bytes',
    'HTTP response sizes in bytes.'
  );

  function slot(operation: Operation, method: string, status: number): MetricSlot {
    const key = `${operation} ${method} ${status}`;
    let count = counts.get(key);
    if (!count) {
      count = { labels: { code: String(status), method: method.toLowerCase(), operation }, n: 0 };
      counts.set(key, count);
    }
    let p = pending.get(operation);
    if (!p) pending.set(operation, (p = new Pending()));
    return { count, pending: p };
  }

  function record(s: MetricSlot, durationUs: number, requestBytes: number, responseBytes: number) {
    s.count.n++;
    const p = s.pending;
    const i = p.count++ % BUFFER;
    p.duration[i] = durationUs;
    p.request[i] = requestBytes;
    p.response[i] = responseBytes;
  }

  return {
    registry,
    slot,
    record,
    observe(operation, method, status, durationUs, requestBytes, responseBytes) {
      record(slot(operation, method, status), durationUs, requestBytes, responseBytes);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** The registry other modules add their metrics to (through the factories below, never prom-client itself). */
export type MetricsRegistry = client.Registry;

export interface CounterHandle<L extends string> {
  inc(labels: Record<L, string>): void;
}

export function counter<L extends string>(
  registry: MetricsRegistry,
  o: { name: string; help: string; labelNames: readonly L[] }
): CounterHandle<L> {
  const c = new client.Counter({
    name: o.name,
    help: o.help,
    labelNames: [...o.labelNames],
    registers: [registry],
  });
  return { inc: (labels) => c.inc(labels) };
}

export function gauge(
  registry: MetricsRegistry,
  o: { name: string; help: string }
): { set(value: number): void } {
  const g = new client.Gauge({ name: o.name, help: o.help, registers: [registry] });
  return { set: (value) => g.set(value) };
}

/** A labelled gauge computed afresh at every scrape by `collect`, which emits each series. */
export function collectedGauge<L extends string>(
  registry: MetricsRegistry,
  o: {
    name: string;
    help: string;
    labelNames: readonly L[];
    collect: (emit: (labels: Record<L, string>, value: number) => void) => void;
  }
): void {
  new client.Gauge({
    name: o.name,
    help: o.help,
    labelNames: [...o.labelNames],
    registers: [registry],
    collect() {
      this.reset();
      o.collect((labels, value) => this.set(labels, value));
    },
  });
}
