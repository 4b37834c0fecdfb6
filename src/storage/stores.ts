/**
 * Every store of the storage contract, bound to an engine's read and write paths: the engines
 * (sqlite.ts, postgres.ts) extend `BoundStorage` and hand it their runners, so the queries exist
 * once (meta-queries.ts, account-queries.ts, store-queries.ts, and webhook-queries.ts,
 * job-queries.ts for the background queues of work-types.ts).
 */
import { fail } from '../errors.js';
import { bindAccountStores, bindLoginAttempts } from './account-queries.js';
import { bindJobs } from './job-queries.js';
import { bindMetaStores } from './meta-queries.js';
import { bindStoreStores } from './store-queries.js';
import { bindWebhooks } from './webhook-queries.js';
import type { ReadRun, WriteRun } from './sql.js';
import type { Storage, StorageTx } from './types.js';

/**
 * The stores a transaction touches (plus the accounts, which SQLite's transactions reach too),
 * each group bound on first use: every publish opens a transaction that needs only the metadata
 * stores, and binding all of them (dozens of closures) cost it more than one of its statements.
 */
export function bindStores(
  read: ReadRun,
  write: WriteRun
): StorageTx & Pick<Storage, 'accounts' | 'refreshTokens'> {
  let meta: ReturnType<typeof bindMetaStores> | undefined;
  let accounts: ReturnType<typeof bindAccountStores> | undefined;
  let store: ReturnType<typeof bindStoreStores> | undefined;
  const metaStores = () => (meta ??= bindMetaStores(read, write));
  const accountStores = () => (accounts ??= bindAccountStores(read, write));
  const storeStores = () => (store ??= bindStoreStores(read, write));
  return {
    get meta() {
      return metaStores().meta;
    },
    get keys() {
      return metaStores().keys;
    },
    get settings() {
      return metaStores().settings;
    },
    get accounts() {
      return accountStores().accounts;
    },
    get refreshTokens() {
      return accountStores().refreshTokens;
    },
    get submissions() {
      return storeStores().submissions;
    },
    get storeRepositories() {
      return storeStores().storeRepositories;
    },
    get audit() {
      return storeStores().audit;
    },
  };
}

export abstract class BoundStorage {
  declare readonly meta: Storage['meta'];
  declare readonly keys: Storage['keys'];
  declare readonly settings: Storage['settings'];
  declare readonly accounts: Storage['accounts'];
  declare readonly refreshTokens: Storage['refreshTokens'];
  declare readonly loginAttempts: Storage['loginAttempts'];
  declare readonly submissions: Storage['submissions'];
  declare readonly storeRepositories: Storage['storeRepositories'];
  declare readonly audit: Storage['audit'];
  declare readonly webhooks: Storage['webhooks'];
  declare readonly jobs: Storage['jobs'];

  protected closed = false;
  /** The engine's read path. */
  protected read!: ReadRun;

  async ping(): Promise<void> {
    await this.read((c) => c.row('SELECT 1'));
  }

  /** Engines whose COMMIT returns durable have nothing pending (src/storage/types.ts). */
  settled(_gun: string): Promise<void> | undefined {
    return undefined;
  }

  protected checkOpen(): void {
    if (this.closed) fail('STORAGE_FAILURE', 'the storage is closed');
  }

  /** A write through the storage object inside `transaction()` would wait for the transaction. */
  protected refuseInsideTransaction(inside: boolean | undefined): void {
    if (inside) {
      fail(
        'STORAGE_FAILURE',
        'write through the storage object inside transaction(): use its tx argument'
      );
    }
  }

  /**
   * `counters`: the write path of what changes no metadata (the login counters, the webhook queue
   * and the jobs): its commits leave the generation (and so every instance's read cache) alone
   * and do not wait for the fsync (losing the last few in a crash is harmless; an fsync per
   * login guess is not). Only the storage object has these three stores, never a `tx`.
   */
  protected bind(read: ReadRun, write: WriteRun, counters: WriteRun): void {
    this.read = read;
    Object.assign(this, bindStores(read, write), {
      loginAttempts: bindLoginAttempts(read, counters),
      webhooks: bindWebhooks(read, counters),
      jobs: bindJobs(read, counters),
    });
  }
}
