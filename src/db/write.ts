import fs from "node:fs";
import nodePath from "node:path";
import { UserError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";
import { ADDON, Database, fileName, refuseDirectory, refuseNewer, refuseOther, schemaVersion, type DB } from "./open.js";

/**
 * Opening to write, and the migrations that come with it: apart from open.ts, so the commands that
 * only read never load the schema's statements (migrations, search index, triggers).
 */

/**
 * A write SQLite refused because the file or its directory may not be written (SQLite writes the
 * -wal and -shm beside the file), said as the user can act on it; null for any other error.
 */
export function writeRefused(path: string, e: unknown): UserError | null {
  const code = (e as { code?: string }).code ?? "";
  if (!code.startsWith("SQLITE_READONLY") && code !== "SQLITE_CANTOPEN" && code !== "SQLITE_PERM") return null;
  const dir = nodePath.dirname(nodePath.resolve(path));
  const what = code === "SQLITE_READONLY_DIRECTORY" || !fs.existsSync(path) ? `the directory ${dir} is read-only to obs` : `${path} or its directory ${dir} is read-only to obs`;
  return new UserError(`cannot write ${path}: ${what} (SQLite writes the file and its -wal and -shm beside it)`, [
    "choose a --db where you may write, or make the file and its directory writable",
  ]);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Puts the file in WAL mode, waiting for another process that is doing the same. Switching takes
 * the write lock from inside a read, and SQLite never waits (busy_timeout or not) to turn a read
 * into a write, lest two such readers wait for each other: a second process opening a new file
 * while the first switches it gets SQLITE_BUSY at once. It tries again until `timeoutMs`; by then
 * the first has switched the file, and the switch has nothing left to do.
 */
export function walMode(db: DB, timeoutMs: number): void {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= until) throw e;
    }
    Atomics.wait(sleeper, 0, 0, 10);
  }
}

/** Opens (creating if needed) for writing, in WAL mode, and brings the schema up to date. */
export function openWritable(path: string): DB {
  refuseDirectory(path);
  const dir = nodePath.dirname(nodePath.resolve(path));
  if (!fs.existsSync(dir)) throw new UserError(`cannot create the database ${path}: no directory ${dir}`, ["create the directory first, or choose another --db"]);
  let db: DB | undefined;
  try {
    db = new Database(fileName(path), ADDON);
    db.pragma("busy_timeout = 5000");
    // better-sqlite3 enforces foreign keys by default; obs must store dangling references as
    // they came (schema.md) and report them with V002/V007, so they are declared, not enforced.
    db.pragma("foreign_keys = OFF");
    // Before anything is set on the file: one from a newer obs, or another program's, is refused untouched.
    refuseNewer(db, path);
    refuseOther(db, path, { writing: true });
    // Larger pages make bulk ingest measurably faster (fewer B-tree splits across the 37
    // indexes); it only takes effect on a new, empty file.
    db.pragma("page_size = 16384");
    walMode(db, 5000);
  } catch (e) {
    if (db?.open) db.close();
    const err = e as { code?: string; message: string };
    if (err.code === "SQLITE_NOTADB") throw new UserError(`${path} is not a SQLite database`);
    throw writeRefused(path, e) ?? e;
  }
  try {
    // WAL makes NORMAL durable against application crashes, which is what a kill mid-ingest is.
    db.pragma("synchronous = NORMAL");
    db.pragma("cache_size = -65536");
    db.pragma("temp_store = MEMORY");
    migrate(db);
    return db;
  } catch (e) {
    if (db.open) db.close();
    throw writeRefused(path, e) ?? e;
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
