import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/db/migrations.js";
import fs from "node:fs";
import path from "node:path";
import { openReadOnly, schemaVersion } from "../src/db/open.js";
import { migrate, openWritable } from "../src/db/write.js";
import { UserError } from "../src/errors.js";
import { holdWriteLock, tmpDb, tmpDir, cli, writeJsonl } from "./helpers.js";
import { cleanRun } from "./query-helpers.js";

/** A file as the first obs release would have left it: only migration 1, with rows in it. */
function versionOneFile(): string {
  const p = tmpDb();
  const db = new Database(p);
  db.exec(`CREATE TABLE obs_meta (key TEXT PRIMARY KEY, value TEXT)`);
  MIGRATIONS[0]!.up(db);
  db.prepare(`INSERT INTO obs_meta VALUES ('schema_version', '1')`).run();
  db.prepare(`INSERT INTO task_list_execution_runs (id, status, started_at) VALUES ('exec-old', 'completed', '2026-01-01T00:00:00.000Z')`).run();
  for (let i = 1; i <= 3; i++) {
    db.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type, category, summary)
                VALUES (?, '2026-01-01T00:00:00.000Z', ?, 'exec-old', 'phase_start', 'lifecycle', 'old')`).run(`old-${i}`, i);
  }
  db.close();
  return p;
}

test("a newer obs upgrades an older file in place and keeps its rows", () => {
  const p = versionOneFile();
  const db = openWritable(p);
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM transcript_entries`).get() as { n: number }).n, 3);
  const cols = (db.prepare(`PRAGMA table_info(transcript_entries)`).all() as { name: string }[]).map((c) => c.name);
  assert.ok(cols.includes("wave_id"), "migration 2 added wave_id");
  assert.ok(db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'llm_calls'`).get(), "migration 3 added llm_calls");
  db.close();
});

test("upgrading is idempotent: opening again applies nothing and changes nothing", async () => {
  const p = tmpDb();
  // Rows in every indexed table, so a migration run again (the search index filled twice) shows.
  assert.equal((await cli(["ingest", writeJsonl(path.join(tmpDir(), "run.jsonl"), cleanRun("idem")), "--db", p])).code, 0);
  const schema = (db: Database.Database) => db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY type, name`).all();
  const first = openWritable(p);
  const objects = schema(first);
  const docs = (first.prepare(`SELECT COUNT(*) AS n FROM search_fts`).get() as { n: number }).n;
  first.close();
  const bytes = fs.readFileSync(p);
  const db = openWritable(p);
  assert.deepEqual(migrate(db), [], "nothing left to apply");
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  assert.deepEqual(schema(db), objects);
  assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM search_fts`).get() as { n: number }).n, docs);
  db.close();
  assert.ok(fs.readFileSync(p).equals(bytes), "opening a current file for writing changed it");
});

test("a file from a newer obs is refused, for writing and for reading", async () => {
  const p = tmpDb();
  const db = openWritable(p);
  db.prepare(`UPDATE obs_meta SET value = '999' WHERE key = 'schema_version'`).run();
  db.close();
  assert.throws(() => openWritable(p), (e: unknown) => e instanceof UserError && /newer obs \(schema version 999/.test(e.message));
  assert.throws(() => openReadOnly(p), UserError);
  const r = await cli(["ls", "--db", p]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /written by a newer obs/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace for a user error");
});

test("tables another producer already created are adopted, not recreated", () => {
  const p = tmpDb();
  const raw = new Database(p);
  // A Python producer's database: its own transcript_entries, already with wave_id, and no obs_meta.
  raw.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, sequence INTEGER NOT NULL,
            execution_id TEXT NOT NULL, task_id TEXT, instance_id TEXT, wave_number INTEGER, entry_type TEXT NOT NULL,
            category TEXT, summary TEXT, details TEXT, duration_ms INTEGER, created_at TEXT, wave_id TEXT)`);
  raw.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type) VALUES ('py-1', '2026-01-01T00:00:00.000Z', 1, 'exec-py', 'task_start')`).run();
  raw.close();
  const db = openWritable(p);
  assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM transcript_entries`).get() as { n: number }).n, 1);
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  db.close();
});

test("several processes opening a new database at once all succeed, and migrate it once", async () => {
  const { spawn } = await import("node:child_process");
  const { BIN } = await import("./helpers.js");
  const p = tmpDb();
  const line = JSON.stringify({ kind: "transcript:entry", execution_id: "race", timestamp: "2026-01-16T09:00:00.000Z", entry_type: "checkpoint", category: "c", summary: "x" });
  const said: string[] = [];
  const runs = Array.from({ length: 6 }, (_, i) =>
    new Promise<number>((resolve) => {
      const c = spawn(process.execPath, [BIN, "ingest", "-", "--db", p], { stdio: ["pipe", "ignore", "pipe"] });
      let err = "";
      c.stderr!.on("data", (d) => (err += d));
      c.stdin!.end(line.replace('"x"', `"x${i}"`) + "\n");
      c.on("close", (code) => {
        if (code !== 0) said.push(`process ${i} (exit ${code}): ${err}`);
        resolve(code ?? -1);
      });
    }),
  );
  assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0, 0, 0], said.join("\n"));
  const db = openWritable(p);
  assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM transcript_entries`).get() as { n: number }).n, 6);
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  db.close();
});

test("opening a new file while another process holds its write lock (as one switching it to WAL does) waits for the lock", async () => {
  // Switching to WAL turns a read into a write, which SQLite never waits for (busy_timeout or
  // not): obs's own wait is what keeps a second obs opening a new file from SQLITE_BUSY at once.
  const p = tmpDb();
  const holder = await holdWriteLock(p, 1000);
  const started = Date.now();
  const db = openWritable(p);
  const opened = Date.now();
  const released = await holder.released;
  assert.ok(started < released, `the other process let go (${released}) before obs tried (${started}): a stalled machine, not a wait; run it again`);
  assert.ok(opened >= released, `obs had the file (${opened}) before the other process let go of it (${released})`);
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  db.close();
});
