import type { DB } from "./open.js";

/**
 * Reading a file whose schema may be partial: one another producer wrote, or an older obs.
 * Whole-table readers (export) take what is there and skip what is not, as the queries do.
 */

/** The tables and views the file has. */
export function tablesOf(db: DB): Set<string> {
  return new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`).all() as { name: string }[]).map((t) => t.name));
}

/** The tables a statement reads (after FROM and JOIN). */
function readsTables(sql: string): string[] {
  return [...sql.matchAll(/\b(?:FROM|JOIN)\s+"?(\w+)"?/gi)].map((m) => m[1]!);
}

/** A statement's rows, or none when a table it reads is not in the file. */
export function rowsIfPresent<Row = Record<string, unknown>>(db: DB, tables: Set<string>, sql: string, params: unknown = {}): Row[] {
  if (!readsTables(sql).every((t) => tables.has(t))) return [];
  return db.prepare(sql).all(params as never) as Row[];
}
