/** Opens the configured storage backend; the composition root's one door to storage. */
import { fail } from '../errors.js';
import { openSqlite, type SqliteOptions } from './sqlite.js';
import type { Storage } from './types.js';

export type StorageConfig =
  | ({ readonly backend: 'sqlite'; readonly path: string } & SqliteOptions)
  | { readonly backend: 'postgres'; readonly url: string; readonly poolSize?: number };

export async function openStorage(config: StorageConfig): Promise<Storage> {
  switch (config.backend) {
    case 'sqlite':
      return openSqlite(config.path, config);
    case 'postgres':
      return fail('CONFIG_INVALID', 'the postgres storage backend is not implemented yet');
  }
}
