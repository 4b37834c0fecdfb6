/**
 * How a record of the storage contract maps to its table, declared once per table instead of a
 * row type, a mapper and a parameter list each: every field names its codec (`plain` for those
 * stored as is), or, as a string, its column when that is not the field's name in snake_case.
 * The type checks that every field of the record is named. From it come the SELECT list
 * (columns aliased to the field names, so a row arrives in the record's shape), the INSERT with
 * its parameters, and the mapper that decodes only the fields whose stored form differs.
 */
import type { Dialect, RowMap, SqlConn } from './sql.js';

/** A field's stored form: how it is bound, and how it reads back. */
export interface Codec {
  readonly toSql: (value: unknown) => unknown;
  readonly fromSql: (value: unknown, dialect: Dialect) => unknown;
}

const asIs: Codec = { toSql: (v) => v, fromSql: (v) => v };

/** The names of a space-separated list, as a union: `Names<'a b'>` is `'a' | 'b'`. */
type Names<S extends string> = S extends `${infer Head} ${infer Rest}` ? Head | Names<Rest> : S;

/** Fields stored as is, in columns named after them: `...plain('gun role version')`. */
export function plain<S extends string>(names: S): Record<Names<S>, Codec> {
  return Object.fromEntries(names.split(' ').map((n) => [n, asIs])) as Record<Names<S>, Codec>;
}
/** A time column (SQLite: ISO 8601 text; PostgreSQL: timestamptz), read by the dialect. */
export const time: Codec = {
  toSql: (v) => (v as Date).toISOString(),
  fromSql: (v, d) => d.date(v),
};
export const optionalTime: Codec = {
  toSql: (v) => (v as Date | null | undefined)?.toISOString() ?? null,
  fromSql: (v, d) => (v === null ? null : d.date(v)),
};
/** ISO 8601 text in both engines (the audit log's `at`: the exact text that was hashed). */
export const isoText: Codec = { toSql: time.toSql, fromSql: (v) => new Date(v as string) };
/** JSON the dialect reads (SQLite: text; PostgreSQL: jsonb). */
export const json: Codec = { toSql: (v) => JSON.stringify(v), fromSql: (v, d) => d.json(v) };
/** JSON held as text in both engines, NULL for null. */
export const jsonText: Codec = {
  toSql: (v) => (v === null ? null : JSON.stringify(v)),
  fromSql: (v) => (v === null ? null : (JSON.parse(v as string) as unknown)),
};

/** Every field of `T`: its codec, or the column it is stored in as is. */
export type Fields<T> = { readonly [K in keyof T]-?: Codec | string };

export interface Table<T> {
  /** `SELECT <columns> FROM <table>`, for WHERE and ORDER BY to follow. */
  readonly select: string;
  /** The columns, aliased to the fields (for RETURNING). */
  readonly columns: string;
  /** `INSERT INTO <table> (…) VALUES (?, …)`, whose parameters `values` gives. */
  readonly insert: string;
  values(record: T): unknown[];
  /** The record of a row read through `columns`. */
  readonly map: RowMap<Record<string, unknown>, T>;
  /** The records `select` finds with `rest` (WHERE, ORDER BY, …) appended. */
  all(c: SqlConn, rest: string, params?: readonly unknown[]): Promise<T[]>;
  /** The first of them, or null. */
  one(c: SqlConn, rest: string, params?: readonly unknown[]): Promise<T | null>;
}

/** `check` vets a record as read (it throws on one the code cannot use). */
export function table<T>(name: string, fields: Fields<T>, check?: (record: T) => void): Table<T> {
  const all = Object.entries<Codec | string>(fields).map(([field, spec]) => ({
    field,
    column: typeof spec === 'string' ? spec : field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
    codec: typeof spec === 'string' ? asIs : spec,
  }));
  const decoded = all.filter((f) => f.codec !== asIs);
  const columns = all
    .map((f) => (f.column === f.field ? f.column : `${f.column} AS "${f.field}"`))
    .join(', ');
  const select = `SELECT ${columns} FROM ${name}`;
  // One string per query text (a small, fixed set): a string made afresh on every call would be
  // hashed again by each engine's statement cache, which measurably slowed the hot reads.
  const texts = new Map<string, string>();
  const text = (rest: string): string => {
    let sql = texts.get(rest);
    if (sql === undefined) texts.set(rest, (sql = `${select} ${rest}`));
    return sql;
  };
  // In place: the row is the driver's fresh object, and this runs on every uncached read.
  const map = (row: Record<string, unknown>, d: Dialect): T => {
    for (const f of decoded) row[f.field] = f.codec.fromSql(row[f.field], d);
    check?.(row as T);
    return row as T;
  };
  return {
    select,
    columns,
    insert: `INSERT INTO ${name} (${all.map((f) => f.column).join(', ')}) VALUES (${all.map(() => '?').join(', ')})`,
    values: (record) => all.map((f) => f.codec.toSql(record[f.field as keyof T])),
    map,
    all: (c, rest, params) => c.rows(text(rest), params, map),
    one: (c, rest, params) => c.row(text(rest), params, map),
  };
}
