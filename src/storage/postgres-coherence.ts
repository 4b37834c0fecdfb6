/**
 * Cache coherence across PostgreSQL instances: the `generation()` of postgres.ts, which tells the
 * read path (src/http/read-cache.ts) whether its in-memory copies may be stale. Its parts: a
 * listening session (LISTEN on CHANGE_CHANNEL, every writing transaction notifies in its
 * commit), a fallback poll of the store_generation marker, and the consistency window. The
 * comment on `generation()` is the design.
 */
import type pg from 'pg';
import type { SqlConn } from './sql.js';

/** The channel every committing write transaction notifies, with the GUN it wrote or '*'. */
export const CHANGE_CHANNEL = 'countersign_changes';
/** application_name of the listening session, so operators (and tests) can find it. */
export const LISTENER_APPLICATION_NAME = 'countersign-listener';

interface CoherenceOptions {
  readonly pollIntervalMs: number;
  readonly consistencyWindowMs: number;
  readonly listen: boolean;
}

export class Coherence {
  private counter = 0;
  private closed = false;
  private listener: pg.Client | undefined;
  /** Connected (and listening, unless `listen` is off) and its marker read. */
  private listenerUp = false;
  /** The backend pid of our listening session, which `othersListening` must not count. */
  private listenerPid = 0;
  private marker: number | undefined;
  /** performance.now() when the newest marker read whose answer has been applied was sent. */
  private confirmedAt = -Infinity;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = 100;

  constructor(
    /** A new, unconnected listening session whose queries time out after this many ms. */
    private readonly newListener: (queryTimeoutMs: number) => pg.Client,
    /** The pool, for counting other listeners. */
    private readonly pool: SqlConn,
    private readonly options: CoherenceOptions
  ) {}

  /** A writing transaction of this instance committed (or may have: its answer was lost). */
  committed(): void {
    this.counter++;
  }

  /** Ends the listening session and the fallback check. */
  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    this.listenerUp = false;
    await listener?.end().catch(() => undefined);
  }

  /**
   * A number that changes whenever any instance may have committed since it last returned the
   * same value. Synchronous and cheap: it reads a counter, which is bumped
   * (a) after every commit of a writing transaction of this instance, before that commit's
   *     caller resumes;
   * (b) when the listening session receives a notification on CHANGE_CHANNEL: every writing
   *     transaction of every instance notifies in its own commit. PostgreSQL signals listening
   *     sessions once the commit is visible, so the counter changes as soon as this event loop
   *     reads that message: measured 0–5 ms after the other instance's COMMIT returned (same
   *     host), i.e. before that instance has answered its HTTP client and the client's next
   *     request can arrive here. It is not a happens-before guarantee: a request that reaches
   *     this instance within that delivery time may still be served the previous state;
   * (c) when the fallback check, every `pollIntervalMs`, finds the store_generation row (bumped
   *     by every writing transaction in its commit) changed: with notifications lost, a commit
   *     is noticed at most pollIntervalMs plus one query later;
   * (d) on every call while the listening session is down or being re-established (so nothing
   *     is served from memory blindly), and once more when it is back;
   * (e) with a consistency window W (`consistencyWindowMs` > 0), on every call made W or more
   *     after the send time of the newest marker read whose answer has been applied (the
   *     fallback check then runs every W/4, so this happens only when the check is held up).
   * (b) alone leaves a gap: a request that reaches this instance within the delivery time after
   * another instance's write returned may be served the previous state (the multi-instance
   * tests saw a stale timestamp up to ~10 reads after a publish). (e) closes it, because a
   * writing transaction's caller resumes only W after its COMMIT returned: if that COMMIT became
   * visible after the newest marker read ran, the read was sent before the COMMIT, so more than W
   * ago by the time the write's result can reach anyone, and (e) applies; otherwise that marker
   * read saw the write. Only elapsed times on each host's monotonic clock are compared, never
   * clocks of two hosts. The price is W on each write and four tiny queries per W per instance;
   * cache hits still cost no query.
   * A hung connection that raises no error is noticed when the fallback query times out
   * (max(1 s, 2 × pollIntervalMs)), which then counts as down.
   */
  generation(): number {
    if (!this.listenerUp) this.counter++;
    else if (
      this.options.consistencyWindowMs > 0 &&
      performance.now() - this.confirmedAt >= this.options.consistencyWindowMs
    ) {
      this.counter++;
    }
    return this.counter;
  }

  /**
   * After a writing transaction's COMMIT (or an attempt whose answer was lost), the rest of the
   * consistency window before the caller resumes: by then every other instance has either heard
   * of the commit or stopped trusting its caches (see `generation()`). The caller releases its
   * connection, slot and locks before the wait.
   */
  async settle(since: number): Promise<void> {
    const window = this.options.consistencyWindowMs;
    if (window === 0 || !(await this.othersListening())) return;
    // A loop on the monotonic clock: a timer may fire a little early by the clock it is set on.
    for (;;) {
      const left = since + window - performance.now();
      if (left <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
    }
  }

  /**
   * Whether another instance could be holding a cache this commit made stale: any listening
   * session of this database but our own, counted after the COMMIT. With none, the window has
   * nobody to wait for (a lone instance pays no 100 ms per write): an instance whose session is
   * down, or comes up after this count, does not trust its cache until it has reconnected
   * (`generation()` (d)), and a new one starts empty. A deaf instance (no LISTEN) still has its
   * session, so it is counted. If the count fails, the answer is yes: waiting is the safe side.
   */
  private async othersListening(): Promise<boolean> {
    try {
      const row = await this.pool.row<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = ? AND pid <> ?`,
        [LISTENER_APPLICATION_NAME, this.listenerPid]
      );
      return (row?.n ?? 1) > 0;
    } catch {
      return true;
    }
  }

  /** Connects the listening session (failing the open if it cannot) and starts the fallback check. */
  async start(): Promise<void> {
    await this.connectListener();
    this.schedulePoll();
  }

  private async connectListener(): Promise<void> {
    const client = this.newListener(Math.max(1_000, 2 * this.options.pollIntervalMs));
    client.on('error', () => this.listenerLost(client));
    client.on('end', () => this.listenerLost(client));
    client.on('notification', (msg) => {
      if (msg.channel === CHANGE_CHANNEL) this.counter++;
    });
    let sentAt: number;
    let pid: number;
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      pid = rows[0]?.pid ?? 0;
      if (this.options.listen) await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      sentAt = performance.now();
      this.marker = await readMarker(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.listenerPid = pid;
    this.listenerUp = true;
    this.confirmedAt = sentAt;
    // Commits between losing the previous session and LISTEN on this one were never announced.
    this.counter++;
  }

  private listenerLost(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.listenerUp = false;
    this.counter++;
    client.end().catch(() => undefined);
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.connectListener().then(
        () => {
          this.reconnectDelayMs = 100;
        },
        () => {
          this.reconnectDelayMs = Math.min(5_000, this.reconnectDelayMs * 2);
          if (!this.closed) this.scheduleReconnect();
        }
      );
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  private schedulePoll(): void {
    const { pollIntervalMs, consistencyWindowMs } = this.options;
    const every =
      consistencyWindowMs > 0
        ? Math.min(pollIntervalMs, Math.max(5, consistencyWindowMs / 4))
        : pollIntervalMs;
    this.pollTimer = setTimeout(() => void this.poll(), every);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    const client = this.listener;
    if (client && this.listenerUp) {
      try {
        const sentAt = performance.now();
        const marker = await readMarker(client);
        if (marker !== this.marker) {
          this.marker = marker;
          this.counter++;
        }
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
      } catch {
        this.listenerLost(client);
      }
    }
    if (!this.closed) this.schedulePoll();
  }
}

async function readMarker(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>('SELECT n FROM store_generation WHERE id = 1');
  return rows[0]?.n ?? 0;
}
