/** Opens the configured storage backend; the composition root's one door to storage. */
import { openSqlite, type SqliteOptions } from './sqlite.js';
import type { Storage } from './types.js';

export type StorageConfig =
  | ({ readonly backend: 'sqlite'; readonly path: string } & SqliteOptions)
  | {
      readonly backend: 'postgres';
      readonly url: string;
      readonly poolSize?: number;
      readonly consistencyWindowMs?: number;
    };

export async function openStorage(config: StorageConfig): Promise<Storage> {
  switch (config.backend) {
    case 'sqlite':
      return openSqlite(config.path, config);
    case 'postgres': {
      // Loaded on demand: an SQLite deployment never loads pg.
      const { openPostgres } = await import('./postgres.js');
      const { poolSize, consistencyWindowMs } = config;
      return openPostgres(config.url, { poolSize, consistencyWindowMs });
    }
  }
}
