import fs from "node:fs";
import { createRequire } from "node:module";
import nodePath from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Database as DB } from "better-sqlite3";
import { UserError } from "../errors.js";
import { SCHEMA_VERSION } from "./version.js";

export type { DB };

const require = createRequire(import.meta.url);

/**
 * The driver, as the CommonJS package it is: imported through ESM, Node lexes its source for
 * named exports first, a few ms of every command that opens a database.
 */
export const Database = require("better-sqlite3") as typeof BetterSqlite3;

/**
 * The driver's compiled addon, named outright where npm built it: otherwise the driver looks
 * for it through a dozen places on every run (its `bindings` helper), a few ms of each command.
 */
export const ADDON = (() => {
  try {
    const p = require.resolve("better-sqlite3/build/Release/better_sqlite3.node");
    return fs.existsSync(p) ? { nativeBinding: p } : {};
  } catch {
    return {};
  }
})();

// Reading a file whose directory is read-only takes SQLite's `immutable=1`, which only a URI
// filename can say; better-sqlite3 reads this once, when it first opens a database.
process.env.SQLITE_USE_URI = "1";

/** A path as SQLite should take it: one a user gave is a file name, never a URI. */
export function fileName(path: string): string {
  return path.startsWith("file:") ? `./${path}` : path;
}

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

export function refuseNewer(db: DB, path: string): void {
  const v = schemaVersion(db);
  if (v > SCHEMA_VERSION) {
    db.close();
    throw new UserError(
      `${path} was written by a newer obs (schema version ${v}; this obs knows up to ${SCHEMA_VERSION})`,
      ["upgrade obs to read it; this version will not touch it"],
    );
  }
}

const canWrite = (p: string) => {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Descriptors kept open for reading database headers, by file (device and inode). SQLite's locks
 * are POSIX locks, which belong to the process and file: closing any descriptor of the file drops
 * every lock this process holds on it, the ones SQLite took for connections still open included,
 * and another process may then think itself the last connection and delete the -wal the open
 * ones still write (their commits lost to every other reader). So a header is read through a
 * descriptor that is never closed.
 */
const headerFds = new Map<string, number>();

function headerFd(path: string): number | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    return undefined;
  }
  const key = `${st.dev}:${st.ino}`;
  let fd = headerFds.get(key);
  if (fd === undefined) {
    try {
      fd = fs.openSync(path, "r");
    } catch {
      return undefined;
    }
    headerFds.set(key, fd);
  }
  return fd;
}

/** Whether the file's header says it is in WAL mode (read and write versions 2). */
function inWalMode(path: string): boolean {
  const head = Buffer.alloc(20);
  const fd = headerFd(path);
  if (fd === undefined) return false; // SQLite will say what is wrong with it
  try {
    return fs.readSync(fd, head, 0, 20, 0) === 20 && head.toString("latin1", 0, 16) === "SQLite format 3\0" && head[18] === 2 && head[19] === 2;
  } catch {
    return false;
  }
}

/**
 * How a read-only connection can read the file without changing anything beside it. SQLite
 * reads a WAL-mode file through its -wal and -shm files, and a reader creates them when they
 * are missing (they are missing whenever no connection has the file open):
 *   - "shared": they exist, or the file is not in WAL mode; read as usual.
 *   - "tidy": they are missing and we may create them; read as usual, and afterwards have
 *     SQLite remove them again if no other connection came meanwhile.
 *   - "snapshot": they are missing and we may not create them (the directory or the file is
 *     read-only to us); with no log, the file itself holds every committed row, and a writer
 *     would need the same rights we lack, so read it as immutable.
 */
type ReadMode = "shared" | "tidy" | "snapshot";

function readMode(path: string): ReadMode {
  if (!inWalMode(path)) return "shared";
  const hasLog = fs.existsSync(`${path}-wal`);
  const hasIndex = fs.existsSync(`${path}-shm`);
  const writable = canWrite(nodePath.dirname(path) || ".") && canWrite(path);
  if (!hasLog) return writable ? "tidy" : "snapshot";
  if (!hasIndex && !canWrite(nodePath.dirname(path) || ".")) {
    throw new UserError(`cannot read ${path}: its write-ahead log ${path}-wal is there but its index ${path}-shm is not, and the directory is read-only`, [
      "SQLite needs both to read the rows still in the log; make the directory writable once (any obs command then tidies up),",
      "or copy the file, its -wal and its directory somewhere writable",
    ]);
  }
  return "shared";
}

/** `file:` URI for the file, read as immutable: no locks, no -wal, no -shm. */
function snapshotUri(path: string): string {
  return `file:${nodePath.resolve(path).split("/").map(encodeURIComponent).join("/")}?immutable=1`;
}

/**
 * After a reader that created the -wal and -shm files closes: a writable connection that only
 * reads, closed again, makes SQLite checkpoint nothing and delete both — but only if it is the
 * last connection to the file (it needs the exclusive lock), so another reader or writer that
 * came meanwhile keeps them. A log with frames in it is a writer's and is left alone.
 */
function tidyLog(path: string): void {
  try {
    if (fs.statSync(`${path}-wal`).size !== 0) return;
  } catch {
    return; // already gone
  }
  let w: DB | undefined;
  try {
    w = new Database(fileName(path), { ...ADDON, fileMustExist: true, timeout: 0 });
    if (!w.readonly) w.prepare("SELECT 1 FROM sqlite_master LIMIT 1").get();
  } catch {
    // Busy or gone: the files stay, as they would have.
  } finally {
    w?.close();
  }
}

const snapshots = new WeakSet<DB>();

/** Whether a read-only connection reads the file as it is at opening (its directory is read-only): changes made later are not seen. */
export function readsSnapshot(db: DB): boolean {
  return snapshots.has(db);
}

/** A --db that names a directory is a mistake to say as such (SQLite calls it a disk I/O error). */
export function refuseDirectory(path: string): void {
  if (fs.statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`${path} is a directory; --db names a database file`, [`e.g. --db ${nodePath.join(path, "obs.db")}`]);
  }
}

/** Opens for reading only: never creates the file, never migrates, never writes, and leaves nothing beside it. */
export function openReadOnly(path: string): DB {
  refuseDirectory(path);
  if (!fs.existsSync(path)) {
    throw new UserError(`no database at ${path}`, [
      "create one with `obs ingest FILE.jsonl` (or `obs demo` for a demo run),",
      "or point at one with --db PATH or OBS_DB",
    ]);
  }
  const mode = readMode(path);
  let db: DB;
  try {
    db = new Database(mode === "snapshot" ? snapshotUri(path) : fileName(path), { ...ADDON, readonly: true, fileMustExist: true });
    if (mode === "tidy") {
      const close = db.close.bind(db);
      db.close = () => {
        close();
        tidyLog(path);
        return db;
      };
    }
    if (mode === "snapshot") snapshots.add(db);
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = OFF");
    db.prepare("SELECT 1 FROM sqlite_master LIMIT 1").get();
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (err.code === "SQLITE_NOTADB") throw new UserError(`${path} is not a SQLite database`, ["point --db (or OBS_DB) at an obs database: one `obs ingest` or `obs demo` wrote"]);
    if (err.code === "SQLITE_CANTOPEN" || err.code?.startsWith("SQLITE_READONLY")) {
      throw new UserError(`cannot read ${path}: ${err.message}`, ["check that you may read the file and its directory"]);
    }
    throw e;
  }
  refuseNewer(db, path);
  refuseOther(db, path);
  return db;
}

/** Whether the file has no table at all (an empty file, or one made and never written). */
export function isEmptyDatabase(db: DB): boolean {
  return !db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1`).get();
}

/**
 * Tables that make a file obs's: a database obs or another producer of its record wrote (the
 * seeds' Python classes write some of them without obs_meta), to read or to complete. A file
 * whose tables are none of these is another program's, said as such rather than as a query's
 * missing table, and left alone by every command, reading or writing.
 */
const RECORD_TABLES = new Set([
  "obs_meta", "task_list_execution_runs", "transcript_entries", "tool_uses", "tasks", "llm_calls", "skill_traces",
  "assertion_results", "assertion_chains", "build_agent_instances", "agent_heartbeats", "message_bus_log", "events",
]);

/** Refuses another program's database (closing it), with what to do: `writing` says a command that would have changed it. */
export function refuseOther(db: DB, path: string, o: { writing?: boolean } = {}): void {
  if (schemaVersion(db) !== 0) return;
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
  if (!tables.length || tables.some((t) => RECORD_TABLES.has(t))) return;
  db.close();
  const shown = tables.slice(0, 5).join(", ") + (tables.length > 5 ? `, … (${tables.length} tables)` : "");
  throw new UserError(`${path} is not an obs database: it is a SQLite database of another program (tables: ${shown})`, [
    tables.includes("agent_traces")
      ? "it is an agent trace store: read it into an obs database with `obs ingest " + path + " --db obs.db`"
      : o.writing ? "obs leaves it alone; choose another path with --db PATH" : "point --db (or OBS_DB) at an obs database: one `obs ingest` or `obs demo` wrote",
  ]);
}
