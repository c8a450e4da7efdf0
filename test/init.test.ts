import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/db/migrations.js";
import { all, one, spawnCli, tmpDir } from "./helpers.js";

/** What sqlite_master holds, counted here rather than by obs. */
function counts(db: string): Record<string, number> {
  const rows = all(db, `SELECT type, COUNT(*) AS n FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' GROUP BY type`);
  return Object.fromEntries(rows.map((r) => [r.type as string, r.n as number]));
}

test("obs init creates an empty database with the whole schema and says what it made", () => {
  const dir = tmpDir();
  const r = spawnCli(["init"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const db = path.join(dir, "obs.db");
  const c = counts(db);
  assert.equal(r.stdout, `created obs.db: an empty obs database (schema version ${SCHEMA_VERSION}: ${c.table} tables, ${c.index} indexes, ${c.view} views, ${c.trigger} triggers)\n`);
  // The seed's named objects are there, and the file holds no rows of a run.
  for (const name of ["transcript_entries", "tool_uses", "skill_traces", "assertion_chains", "assertion_results", "message_bus_log",
    "wave_statistics", "concurrent_execution_sessions", "idx_transcript_exec_sequence", "idx_tool_use_blocked", "idx_mbus_log_errors",
    "idx_assertion_wave_id", "tr_event_to_log", "v_wave_progress", "v_active_agents"]) {
    assert.ok(one(db, `SELECT 1 AS ok FROM sqlite_master WHERE name = ?`, name), `${name} exists`);
  }
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries`)!.n, 0);
  assert.equal(one(db, `SELECT value FROM obs_meta WHERE key = 'schema_version'`)!.value, String(SCHEMA_VERSION));
  assert.equal(one(db, `PRAGMA journal_mode`)!.journal_mode, "wal");
  // Read commands work on it at once.
  const ls = spawnCli(["ls", "--json", "--db", db]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(JSON.parse(ls.stdout), []);

  const again = spawnCli(["init", "--db", db]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, new RegExp(`^${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is current \\(schema version ${SCHEMA_VERSION}: .*\\); nothing to do\\n$`));
});

test("obs init makes the directories of a new path (the seed keeps its database in database/ideas.db)", () => {
  const dir = tmpDir();
  const r = spawnCli(["init", "--db", "database/ideas.db"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^created database\/ideas\.db: /);
  assert.ok(fs.statSync(path.join(dir, "database", "ideas.db")).size > 0);
});

test("obs init on an older obs database applies the migrations it lacks and keeps its rows; --json says so", () => {
  const db = path.join(tmpDir(), "old.db");
  const raw = new Database(db);
  raw.pragma("foreign_keys = OFF"); // an entry of an execution no run row names, as producers write them
  raw.exec(`CREATE TABLE obs_meta (key TEXT PRIMARY KEY, value TEXT)`);
  MIGRATIONS[0]!.up(raw);
  raw.prepare(`INSERT INTO obs_meta VALUES ('schema_version', '1')`).run();
  raw.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type, category, summary)
               VALUES ('old-1', '2026-01-01T00:00:00.000Z', 1, 'exec-old', 'phase_start', 'lifecycle', 'old')`).run();
  raw.close();
  const r = spawnCli(["init", "--db", db, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const later = MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version);
  assert.equal(out.action, "migrated");
  assert.equal(out.from_version, 1);
  assert.equal(out.schema_version, SCHEMA_VERSION);
  assert.deepEqual(out.applied, later);
  assert.deepEqual(out.objects, { tables: counts(db).table, indexes: counts(db).index, views: counts(db).view, triggers: counts(db).trigger });
  assert.equal(one(db, `SELECT summary FROM transcript_entries WHERE id = 'old-1'`)!.summary, "old");
  const text = spawnCli(["init", "--db", db]);
  assert.match(text.stdout, /is current/);
});

test("obs init completes a database another producer started with some of obs's tables", () => {
  const db = path.join(tmpDir(), "seed.db");
  const raw = new Database(db);
  MIGRATIONS[0]!.up(raw); // the seed's migration 087, as its own migration runner would make it, without obs_meta
  raw.close();
  const r = spawnCli(["init", "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^migrated .*seed\\.db from schema version 0 to ${SCHEMA_VERSION}`));
  assert.ok(one(db, `SELECT 1 AS ok FROM sqlite_master WHERE name = 'wave_statistics'`));
});

test("every command that writes leaves another program's SQLite database alone, as init does: exit 2, the file unchanged", () => {
  const dir = tmpDir();
  const other = path.join(dir, "app.db");
  const o = new Database(other);
  o.exec(`CREATE TABLE foo (x); INSERT INTO foo VALUES (1)`);
  o.close();
  const bytes = fs.readFileSync(other);
  const events = path.join(dir, "run.jsonl");
  fs.writeFileSync(events, JSON.stringify({ kind: "execution:status", execution_id: "e", timestamp: "2026-01-16T09:00:00.000Z", status: "running" }) + "\n");
  for (const args of [["ingest", events], ["demo"], ["config", "retention", "5"], ["prune", "--older-than", "1d"], ["search", "--reindex"], ["init"]]) {
    const r = spawnCli([...args, "--db", other]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /app\.db is not an obs database: it is a SQLite database of another program \(tables: foo\)/, args.join(" "));
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, args.join(" "));
    assert.ok(fs.readFileSync(other).equals(bytes), `${args.join(" ")} changed the file`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["app.db", "run.jsonl"], `${args.join(" ")} left files beside it`);
  }
  // Commands that read say so too, rather than name a table of theirs the file lacks.
  for (const args of [["ls"], ["summary", "e"], ["usage"], ["validate", "--all"], ["errors", "e"]]) {
    const r = spawnCli([...args, "--db", other]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /app\.db is not an obs database: it is a SQLite database of another program \(tables: foo\)\n {2}point --db \(or OBS_DB\) at an obs database/, args.join(" "));
    assert.ok(fs.readFileSync(other).equals(bytes), `${args.join(" ")} changed the file`);
  }
  // An empty file holds no executions (as summary and usage say); a file of text is no database, with what to do.
  const empty = path.join(dir, "empty.db");
  fs.writeFileSync(empty, "");
  const ls = spawnCli(["ls", "--db", empty]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stderr + ls.stdout, /no executions match/);
  assert.equal(fs.statSync(empty).size, 0);
  const junk = path.join(dir, "junk.db");
  fs.writeFileSync(junk, "not a database at all\n");
  const j = spawnCli(["ls", "--db", junk]);
  assert.equal(j.code, 2);
  assert.match(j.stderr, /junk\.db is not a SQLite database\n {2}point --db \(or OBS_DB\) at an obs database/);
  fs.rmSync(empty);
  fs.rmSync(junk);
  // A file another producer started with some of obs's tables is obs's to complete.
  const started = path.join(dir, "started.db");
  const p = new Database(started);
  MIGRATIONS[0]!.up(p); // the seed's first migration, as its own runner makes it: no obs_meta
  p.close();
  const r = spawnCli(["ingest", events, "--db", started]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(one(started, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = 'e'`)!.n, 1);
});

test("obs init refuses what is not an obs database, naming the file, and changes nothing (exit 2)", () => {
  const dir = tmpDir();
  const text = path.join(dir, "notes.db");
  fs.writeFileSync(text, "these are my notes\n");
  let r = spawnCli(["init", "--db", text]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /notes\.db is not a SQLite database, so not an obs database/);
  assert.equal(fs.readFileSync(text, "utf8"), "these are my notes\n");

  const other = path.join(dir, "places.sqlite");
  const o = new Database(other);
  o.exec(`CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); CREATE TABLE moz_bookmarks (id INTEGER PRIMARY KEY)`);
  o.close();
  r = spawnCli(["init", "--db", other]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /places\.sqlite is not an obs database: it is a SQLite database of another program \(tables: moz_bookmarks, moz_places\)/);
  // Read with the driver itself: obs refuses to read another program's database too.
  const look = new Database(other, { readonly: true });
  assert.deepEqual(look.prepare(`SELECT name FROM sqlite_master ORDER BY name`).all().map((x) => (x as { name: string }).name), ["moz_bookmarks", "moz_places"]);
  look.close();

  const traces = path.join(dir, "traces.db");
  const t = new Database(traces);
  t.exec(`CREATE TABLE agent_traces (id TEXT PRIMARY KEY)`);
  t.close();
  r = spawnCli(["init", "--db", traces]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /agent trace store: read it into an obs database with `obs ingest .*traces\.db --db obs\.db`/);

  r = spawnCli(["init", "--db", dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is a directory/);

  const newer = path.join(dir, "newer.db");
  assert.equal(spawnCli(["init", "--db", newer]).code, 0);
  const n = new Database(newer);
  n.prepare(`UPDATE obs_meta SET value = '999' WHERE key = 'schema_version'`).run();
  n.close();
  r = spawnCli(["init", "--db", newer]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /written by a newer obs \(schema version 999/);
});

test("obs init on a table of obs's name with other columns says it cannot, without a stack trace", () => {
  const db = path.join(tmpDir(), "odd.db");
  const raw = new Database(db);
  raw.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT, sequence INTEGER, execution_id TEXT, entry_type TEXT)`);
  raw.close();
  const r = spawnCli(["init", "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^obs: cannot bring .*odd\.db up to obs's schema: no such column: task_id\n/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
