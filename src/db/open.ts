import fs from "node:fs";
import nodePath from "node:path";
import Database from "better-sqlite3";
import type { Database as DB } from "better-sqlite3";
import { UserError } from "../errors.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.js";

export type { DB };

/** --db, else $OBS_DB, else ./obs.db. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag || env.OBS_DB || "obs.db";
}

function hasTable(db: DB, name: string): boolean {
  return Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name));
}

/** The schema version recorded in the file; 0 for a database obs has not written. */
export function schemaVersion(db: DB): number {
  if (!hasTable(db, "obs_meta")) return 0;
  const row = db.prepare(`SELECT value FROM obs_meta WHERE key = 'schema_version'`).get() as
    | { value: string }
    | undefined;
  return row ? Number(row.value) : 0;
}

function refuseNewer(db: DB, path: string): void {
  const v = schemaVersion(db);
  if (v > SCHEMA_VERSION) {
    db.close();
    throw new UserError(
      `${path} was written by a newer obs (schema version ${v}; this obs knows up to ${SCHEMA_VERSION})`,
      ["upgrade obs to read it; this version will not touch it"],
    );
  }
}

/** A --db that names a directory is a mistake to say as such (SQLite calls it a disk I/O error). */
function refuseDirectory(path: string): void {
  if (fs.statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`${path} is a directory; --db names a database file`, [`e.g. --db ${nodePath.join(path, "obs.db")}`]);
  }
}

/** Opens for reading only: never creates the file, never migrates, never writes. */
export function openReadOnly(path: string): DB {
  refuseDirectory(path);
  if (!fs.existsSync(path)) {
    throw new UserError(`no database at ${path}`, [
      "create one with `obs ingest FILE.jsonl` (or `obs demo` for a demo run),",
      "or point at one with --db PATH or OBS_DB",
    ]);
  }
  let db: DB;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = OFF");
    db.prepare("SELECT 1 FROM sqlite_master LIMIT 1").get();
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (err.code === "SQLITE_NOTADB") throw new UserError(`${path} is not a SQLite database`);
    throw e;
  }
  refuseNewer(db, path);
  return db;
}

/** Opens (creating if needed) for writing, in WAL mode, and brings the schema up to date. */
export function openWritable(path: string): DB {
  refuseDirectory(path);
  const dir = nodePath.dirname(nodePath.resolve(path));
  if (!fs.existsSync(dir)) throw new UserError(`cannot create the database ${path}: no directory ${dir}`, ["create the directory first, or choose another --db"]);
  let db: DB | undefined;
  try {
    db = new Database(path);
    db.pragma("busy_timeout = 5000");
    // better-sqlite3 enforces foreign keys by default; obs must store dangling references as
    // they came (schema.md) and report them with V002/V007, so they are declared, not enforced.
    db.pragma("foreign_keys = OFF");
    // Larger pages make bulk ingest measurably faster (fewer B-tree splits across the 37
    // indexes); it only takes effect on a new, empty file.
    db.pragma("page_size = 16384");
    db.pragma("journal_mode = WAL");
  } catch (e) {
    if (db?.open) db.close();
    const err = e as { code?: string; message: string };
    if (err.code === "SQLITE_NOTADB") throw new UserError(`${path} is not a SQLite database`);
    if (err.code === "SQLITE_CANTOPEN") throw new UserError(`cannot open ${path} for writing: ${err.message}`);
    throw e;
  }
  try {
    // WAL makes NORMAL durable against application crashes, which is what a kill mid-ingest is.
    db.pragma("synchronous = NORMAL");
    db.pragma("cache_size = -65536");
    db.pragma("temp_store = MEMORY");
    refuseNewer(db, path);
    migrate(db);
    return db;
  } catch (e) {
    if (db.open) db.close();
    throw e;
  }
}

/**
 * Applies every migration newer than the file's version, each in its own transaction. Two obs
 * processes may open a new file at once: each migration takes the write lock first (IMMEDIATE,
 * so the busy timeout applies) and looks at the version again under it, so the second one
 * waits and then finds nothing left to do.
 */
export function migrate(db: DB): number[] {
  // Up to date, as a file is nearly always: no write lock, so opening never waits for a writer.
  if (schemaVersion(db) >= MIGRATIONS[MIGRATIONS.length - 1]!.version) return [];
  db.transaction(() => db.exec(`CREATE TABLE IF NOT EXISTS obs_meta (key TEXT PRIMARY KEY, value TEXT)`)).immediate();
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= schemaVersion(db)) continue;
    const ran = db.transaction(() => {
      if (m.version <= schemaVersion(db)) return false;
      m.up(db);
      db.prepare(
        `INSERT INTO obs_meta (key, value) VALUES ('schema_version', ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      ).run(String(m.version));
      return true;
    }).immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}
