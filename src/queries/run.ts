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

/** What a connection stands in for: per table, a TEMP table or view, and the columns it adds. */
interface Shim {
  kind: "table" | "view";
  adds: Set<string>;
}
const shimsMade = new WeakMap<DB, Map<string, Shim>>();

/**
 * Stands in for optional tables and columns the database lacks: an empty TEMP table for a
 * missing table, and for a table missing columns a TEMP VIEW of the same name that adds them
 * as NULL (unqualified names resolve to the temp schema first). TEMP objects live outside the
 * file, so this works on a read-only connection and leaves the file untouched. Queries declare
 * different optional columns of one table, so a stand-in made for one is widened (made again
 * with the union) when a later query on the same connection needs more. Names come from query
 * definitions, never from input.
 */
function shimOptional(db: DB, optional: Record<string, string[]>): void {
  let made = shimsMade.get(db);
  if (!made) shimsMade.set(db, (made = new Map()));
  for (const [table, cols] of Object.entries(optional)) {
    let shim = made.get(table);
    if (shim) {
      // The view's own columns are the file's: only what neither has is new.
      const have = columnsOf(db, table)!;
      const more = cols.filter((c) => !have.has(c));
      if (!more.length) continue;
      for (const c of more) shim.adds.add(c);
    } else {
      const have = columnsOf(db, table);
      const missing = have ? cols.filter((c) => !have.has(c)) : cols;
      if (!missing.length) continue;
      made.set(table, (shim = { kind: have ? "view" : "table", adds: new Set(missing) }));
    }
    const adds = [...shim.adds];
    if (shim.kind === "table") {
      db.exec(`DROP TABLE IF EXISTS temp."${table}"`);
      db.exec(`CREATE TEMP TABLE "${table}" (${adds.map((c) => `"${c}"`).join(", ")})`);
    } else {
      db.exec(`DROP VIEW IF EXISTS temp."${table}"`);
      db.exec(`CREATE TEMP VIEW "${table}" AS SELECT *, ${adds.map((c) => `NULL AS "${c}"`).join(", ")} FROM main."${table}"`);
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
