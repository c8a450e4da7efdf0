import fs from "node:fs";
import nodePath from "node:path";
import Database from "better-sqlite3";
import { UserError } from "../errors.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.js";
import { refuseOther, schemaVersion, type DB } from "./open.js";
import { migrate, openWritable, writeRefused } from "./write.js";

/**
 * `obs init`: a database with the whole schema, made or brought up to date on purpose rather
 * than as a side effect of the first ingest. Producers that write the tables directly (the
 * Python classes, another program) need the file to exist before they start.
 */

export interface SchemaCounts {
  tables: number;
  indexes: number;
  views: number;
  triggers: number;
}

export interface InitResult {
  path: string;
  /** created: there was no database; migrated: an older schema was brought up to date; current: nothing to do. */
  action: "created" | "migrated" | "current";
  from_version: number;
  schema_version: number;
  applied: number[];
  objects: SchemaCounts;
}


export function countObjects(db: DB): SchemaCounts {
  const rows = db.prepare(`SELECT type, COUNT(*) AS n FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' GROUP BY type`).all() as { type: string; n: number }[];
  const n = (t: string) => rows.find((r) => r.type === t)?.n ?? 0;
  return { tables: n("table"), indexes: n("index"), views: n("view"), triggers: n("trigger") };
}

/**
 * What is at `path` before anything is written: nothing (or an empty file), a database at some
 * schema version, or something obs must not touch (a directory, a file that is not SQLite, a
 * SQLite database of another program), which is a UserError naming it.
 */
function inspect(path: string): { exists: boolean; version: number } {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    return { exists: false, version: 0 };
  }
  if (st.isDirectory()) throw new UserError(`${path} is a directory`, ["give the database file's path: obs init --db DIR/obs.db"]);
  if (st.size === 0) return { exists: false, version: 0 };
  let db: DB;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 5000");
    db.prepare(`SELECT 1 FROM sqlite_master LIMIT 1`).get();
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (err.code === "SQLITE_NOTADB") {
      throw new UserError(`${path} is not a SQLite database, so not an obs database`, ["obs init leaves it alone; choose another path with --db PATH"]);
    }
    throw writeRefused(path, e) ?? new UserError(`cannot read ${path}: ${err.message}`);
  }
  try {
    const version = schemaVersion(db);
    if (version > SCHEMA_VERSION) {
      throw new UserError(`${path} was written by a newer obs (schema version ${version}; this obs knows up to ${SCHEMA_VERSION})`, [
        "upgrade obs to use it; this version will not touch it",
      ]);
    }
    refuseOther(db, path, { writing: true });
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all();
    return { exists: tables.length > 0, version };
  } finally {
    db.close();
  }
}

export function initDatabase(path: string): InitResult {
  const before = inspect(path);
  const dir = nodePath.dirname(path);
  if (!fs.existsSync(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UserError(`cannot create the directory ${dir}: ${(e as Error).message}`);
    }
  }
  let db: DB;
  try {
    db = openWritable(path);
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (typeof err.code === "string" && err.code.startsWith("SQLITE_") && before.exists) {
      // The migrations only add; one fails when a table another program made has other columns.
      throw new UserError(`cannot bring ${path} up to obs's schema: ${err.message}`, [
        "a table in it has the name of one of obs's but other columns; no migration was applied",
      ]);
    }
    throw e;
  }
  try {
    const after = schemaVersion(db);
    const applied = MIGRATIONS.filter((m) => m.version > before.version && m.version <= after).map((m) => m.version);
    return {
      path,
      action: !before.exists ? "created" : applied.length ? "migrated" : "current",
      from_version: before.version,
      schema_version: after,
      applied,
      objects: countObjects(db),
    };
  } finally {
    db.close();
  }
}
