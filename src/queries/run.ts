import type { DB } from "../db/open.js";
import type { Query, QueryResult } from "./types.js";

const columnsCache = new WeakMap<DB, Map<string, Set<string> | null>>();

/** The columns of a table or view, or null when there is no such table. */
function columnsOf(db: DB, table: string): Set<string> | null {
  let cache = columnsCache.get(db);
  if (!cache) columnsCache.set(db, (cache = new Map()));
  if (!cache.has(table)) {
    const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
    cache.set(table, cols.length ? new Set(cols.map((c) => c.name)) : null);
  }
  return cache.get(table)!;
}

/** Why a query cannot run on this database (a table or column it reads is missing), or null. */
export function missingFor(db: DB, q: Pick<Query, "needs">): string | null {
  for (const [table, cols] of Object.entries(q.needs)) {
    const have = columnsOf(db, table);
    if (!have) return `no table ${table}`;
    const missing = cols.filter((c) => !have.has(c));
    if (missing.length) return `no column ${missing.map((c) => `${table}.${c}`).join(", ")}`;
  }
  return null;
}

/** Binds only the parameters the SQL names, so callers can pass a common set. */
function bindFor(sql: string, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of sql.matchAll(/@([a-z_][a-z0-9_]*)/gi)) {
    const name = m[1]!;
    out[name] = params[name] === undefined ? null : params[name];
  }
  return out;
}

/**
 * Stands in for optional tables and columns the database lacks: an empty TEMP table for a
 * missing table, and for a table missing columns a TEMP VIEW of the same name that adds them
 * as NULL (unqualified names resolve to the temp schema first). TEMP objects live outside the
 * file, so this works on a read-only connection and leaves the file untouched. Names come from
 * query definitions, never from input.
 */
function shimOptional(db: DB, optional: Record<string, string[]>): void {
  for (const [table, cols] of Object.entries(optional)) {
    const have = columnsOf(db, table);
    if (!have) {
      db.exec(`CREATE TEMP TABLE IF NOT EXISTS "${table}" (${cols.map((c) => `"${c}"`).join(", ")})`);
    } else {
      const missing = cols.filter((c) => !have.has(c));
      if (!missing.length) continue;
      // An earlier query on this connection may have stood in already, with fewer columns: its
      // table gets the new ones, its view is made again with them.
      const shim = db.prepare(`SELECT type FROM sqlite_temp_master WHERE name = ?`).get(table) as { type: string } | undefined;
      if (shim?.type === "table") {
        for (const c of missing) db.exec(`ALTER TABLE temp."${table}" ADD COLUMN "${c}"`);
      } else {
        if (shim?.type === "view") db.exec(`DROP VIEW temp."${table}"`);
        const real = new Set((db.prepare(`SELECT name FROM pragma_table_info(?, 'main')`).all(table) as { name: string }[]).map((c) => c.name));
        const added = [...new Set([...have, ...cols])].filter((c) => !real.has(c));
        db.exec(`CREATE TEMP VIEW "${table}" AS SELECT *, ${added.map((c) => `NULL AS "${c}"`).join(", ")} FROM main."${table}"`);
      }
    }
    columnsCache.get(db)?.delete(table);
  }
}

export function runQuery<Row>(db: DB, q: Query<Row>, params: Record<string, unknown>): QueryResult<Row> {
  const missing = missingFor(db, q);
  if (missing) return { id: q.id, skipped: true, reason: missing, rows: [] };
  if (q.optional) shimOptional(db, q.optional);
  const raw = db.prepare(q.sql).all(bindFor(q.sql, params)) as Record<string, unknown>[];
  return { id: q.id, skipped: false, rows: q.shape ? raw.map(q.shape) : (raw as Row[]) };
}

/** Parses a JSON column, leaving text that is not JSON as it is. */
export function parseJson(v: unknown): unknown {
  if (typeof v !== "string") return v ?? null;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
