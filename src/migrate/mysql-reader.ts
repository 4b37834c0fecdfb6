/**
 * Reads a MySQL or MariaDB database (notary's compose default) for `countersign import-notary`;
 * the only module that reaches `mysql2`. One connection, UTC session time zone (so
 * UNIX_TIMESTAMP reads notary's zone-less datetimes as UTC), binary columns as Buffers.
 */
import mysql from 'mysql2/promise';
import type { SqlReader } from './source.js';

export async function openMysqlReader(url: string): Promise<SqlReader> {
  const connection = await mysql.createConnection({
    uri: url,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    connectTimeout: 10_000,
  });
  try {
    await connection.query("SET time_zone = '+00:00'");
  } catch (err) {
    await connection.end().catch(() => undefined);
    throw err;
  }
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      const [rows] = await connection.query(sql, [...params]);
      return rows as R[];
    },
    close: () => connection.end(),
  };
}
