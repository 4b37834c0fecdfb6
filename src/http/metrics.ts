/**
 * Prometheus metrics (prom-client behind this one module), with notary-server's families
 * (PROTOCOL.md §1.4 "/metrics") plus Node's process metrics. Observation is a few map updates;
 * the read path records every request.
 */
import client from 'prom-client';
import type { Operation } from './notary-routes.js';

export interface RequestMetrics {
  observe(operation: Operation, method: string, status: number, durationUs: number, requestBytes: number, responseBytes: number): void;
  render(): Promise<{ contentType: string; body: string }>;
  /** The registry, for other modules' gauges (expiry, …). */
  readonly registry: client.Registry;
}

export function createMetrics(): RequestMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const labels = ['operation'] as const;
  const percentiles = [0.5, 0.9, 0.99];
  const total = new client.Counter({
    name: 'notary_server_http_requests_total',
    help: 'Number of HTTP requests by operation, method and status code.',
    labelNames: ['code', 'method', 'operation'],
    registers: [registry],
  });
  const duration = new client.Summary({
    name: 'notary_server_http_request_duration_microseconds',
    help: 'HTTP request latencies in microseconds.',
    labelNames: labels,
    percentiles,
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [registry],
  });
  const reqSize = new client.Summary({
    name: 'notary_server_http_request_size_bytes',
    help: 'HTTP request sizes in bytes.',
    labelNames: labels,
    percentiles,
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [registry],
  });
  const resSize = new client.Summary({
    name: 'notary_server_http_response_size_bytes',
    help: 'HTTP response sizes in bytes.',
    labelNames: labels,
    percentiles,
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [registry],
  });
  return {
    registry,
    observe(operation, method, status, durationUs, requestBytes, responseBytes) {
      total.inc({ code: String(status), method: method.toLowerCase(), operation });
      duration.observe({ operation }, durationUs);
      reqSize.observe({ operation }, requestBytes);
      resSize.observe({ operation }, responseBytes);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
