/**
 * Read-only commands never change the file — and never need to. Every read command, on three
 * kinds of file (one obs writes today, one an older obs left, one another producer wrote),
 * must leave the file byte for byte as it was with nothing new beside it (no -wal, no -shm),
 * and must give the same answer when the file and its directory are read-only.
 *
 * Read-only is made real: the file is chmod 444 and its directory 555, and the command runs
 * as a user who cannot write them (as root, permissions do not bind, so it runs as nobody).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import WebSocket from "ws";
import { MIGRATIONS } from "../src/db/migrations.js";
import { BIN, cli, tmpDir, type Captured } from "./helpers.js";
import { at, cleanRun, dbWith, line } from "./query-helpers.js";

const EXEC = "ro-run";
const NOW = "2026-01-20T00:00:00.000Z";
const ENV = { NO_COLOR: "1", COLUMNS: "120", TZ: "UTC", OBS_NOW: NOW };

/** The user a read-only run is made as: ourselves, unless we are root, whom modes do not bind. */
const READER = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A file as obs writes it today: a clean run plus a failed tool call, in WAL mode. */
async function currentFile(): Promise<string> {
  return dbWith([
    ...cleanRun(EXEC, "tl-ro"),
    line(EXEC, 30, "tool:start", { tool_use_id: "ro-bad", tool: "Bash", input: { command: "make" }, instance_id: `${EXEC}-a1` }),
    line(EXEC, 31, "tool:end", { tool_use_id: "ro-bad", is_error: true, error_message: "make: *** no rule" }),
  ]);
}

/** A file an older obs left: schema version 2 (no model calls, no search index, no ingest log), in WAL mode. */
function olderFile(): string {
  const p = path.join(tmpDir(), "old.db");
  const db = new Database(p);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = OFF");
  db.exec(`CREATE TABLE obs_meta (key TEXT PRIMARY KEY, value TEXT)`);
  MIGRATIONS[0]!.up(db);
  MIGRATIONS[1]!.up(db);
  db.prepare(`INSERT INTO obs_meta VALUES ('schema_version', '2')`).run();
  db.prepare(`INSERT INTO task_list_execution_runs (id, task_list_id, status, started_at, completed_at) VALUES (?, 'tl-ro', 'completed', ?, ?)`).run(EXEC, at(0), at(20));
  db.prepare(`INSERT INTO tasks (id, execution_id, title, status, started_at, completed_at) VALUES ('ro-t1', ?, 'Old task', 'completed', ?, ?)`).run(EXEC, at(1), at(19));
  db.prepare(`INSERT INTO parallel_execution_waves (id, execution_run_id, wave_number, status, started_at, completed_at) VALUES ('ro-w1', ?, 1, 'completed', ?, ?)`).run(EXEC, at(1), at(19));
  db.prepare(`INSERT INTO wave_task_assignments (wave_id, task_id, status) VALUES ('ro-w1', 'ro-t1', 'completed')`).run();
  const entry = db.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, task_id, instance_id, entry_type, category, summary) VALUES (?, ?, ?, ?, 'ro-t1', 'ro-a1', ?, ?, ?)`);
  entry.run("ro-e1", at(1), 1, EXEC, "task_start", "lifecycle", "start the old task");
  entry.run("ro-e2", at(5), 2, EXEC, "tool_use", "tool", "Bash: make");
  entry.run("ro-e3", at(19), 3, EXEC, "task_end", "lifecycle", "done");
  db.prepare(`INSERT INTO tool_uses (id, execution_id, task_id, transcript_entry_id, tool, input, input_summary, result_status, is_error, error_message, start_time, end_time, duration_ms)
              VALUES ('ro-tu1', ?, 'ro-t1', 'ro-e2', 'Bash', '{"command":"make"}', 'make', 'error', 1, 'make: *** no rule', ?, ?, 1000)`).run(EXEC, at(5), at(6));
  db.close();
  return p;
}

/** Another producer's file: two of the tables, no obs_meta, in SQLite's default rollback mode. */
function foreignFile(): string {
  const p = path.join(tmpDir(), "foreign.db");
  const db = new Database(p);
  db.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, sequence INTEGER NOT NULL,
           execution_id TEXT NOT NULL, task_id TEXT, instance_id TEXT, wave_number INTEGER, entry_type TEXT NOT NULL,
           category TEXT, summary TEXT, details TEXT, duration_ms INTEGER)`);
  db.exec(`CREATE TABLE tool_uses (id TEXT PRIMARY KEY, execution_id TEXT, task_id TEXT, transcript_entry_id TEXT, tool TEXT,
           tool_category TEXT, input TEXT, input_summary TEXT, result_status TEXT, output TEXT, output_summary TEXT,
           is_error INTEGER DEFAULT 0, is_blocked INTEGER DEFAULT 0, block_reason TEXT, error_message TEXT,
           start_time TEXT, end_time TEXT, duration_ms INTEGER, within_skill TEXT, parent_tool_use_id TEXT)`);
  db.prepare(`INSERT INTO transcript_entries VALUES ('f1', ?, 1, ?, NULL, 'a1', NULL, 'task_start', 'lifecycle', 'go', NULL, NULL)`).run(at(0), EXEC);
  db.prepare(`INSERT INTO transcript_entries VALUES ('f2', ?, 2, ?, NULL, 'a1', NULL, 'tool_use', 'tool', 'Read', NULL, NULL)`).run(at(5), EXEC);
  db.prepare(`INSERT INTO tool_uses (id, execution_id, transcript_entry_id, tool, input, result_status, start_time, end_time, duration_ms)
              VALUES ('f-t1', ?, 'f2', 'Read', '{"file_path":"express.py"}', 'done', ?, ?, 1000)`).run(EXEC, at(5), at(6));
  db.close();
  return p;
}

/** Every command that only reads, with arguments that make it read something. */
const READ_COMMANDS: string[][] = [
  ["ls"],
  ["validate", EXEC],
  ["validate", "--all", "--json"],
  ["errors", EXEC],
  ["trace", EXEC, "--tools"],
  ["summary", EXEC],
  ["compare"],
  ["waves", EXEC],
  ["anomalies", EXEC],
  ["search", "express"],
  ["queries"],
  ["query", "V001", EXEC],
  ["query", "A001", EXEC, "--json"],
  ["export", EXEC, "--jsonl"],
  ["export", EXEC, "--otlp"],
  ["prune", "--dry-run", "--older-than", "1d"],
  ["config"],
];

/** The file's bytes and what is beside it, to compare before and after. */
function state(file: string): { hash: string; beside: string[] } {
  return {
    hash: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex"),
    beside: fs.readdirSync(path.dirname(file)).sort(),
  };
}

function readOnly(file: string, on: boolean): void {
  fs.chmodSync(file, on ? 0o444 : 0o644);
  fs.chmodSync(path.dirname(file), on ? 0o555 : 0o755);
}

/** Runs the CLI as the reader, in its own process. */
function spawnReader(args: string[]): Captured {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, ...ENV }, ...READER });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** What each command answers on the file, and that it changed nothing, writable and read-only. */
async function checkOneShots(kind: string, file: string): Promise<Map<string, Captured>> {
  const before = state(file);
  const results = new Map<string, Captured>();
  for (const args of READ_COMMANDS) {
    const argv = [...args, "--db", file];
    const name = `${kind}: obs ${args.join(" ")}`;
    const r = await cli(argv, { env: ENV });
    assert.deepEqual(state(file), before, `${name} changed the file or left something beside it`);
    assert.doesNotMatch(r.stderr, /internal error|database error|SqliteError|at .*\.js:\d+/, `${name}: ${r.stderr}`);
    results.set(args.join(" "), r);
    readOnly(file, true);
    try {
      const ro = spawnReader(argv);
      assert.deepEqual(ro, r, `${name}: a different answer with the file and its directory read-only`);
    } finally {
      readOnly(file, false);
    }
    assert.deepEqual(state(file), before, `${name}, read-only, changed something`);
  }
  return results;
}

/** `obs tail EXEC --json --last 3` until its three lines, then Ctrl-C: its lines and exit status. */
async function tailOnce(file: string, asReader: boolean): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "tail", EXEC, "--json", "--follow", "--last", "3", "--db", file], {
    stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, ...ENV }, ...(asReader ? READER : {}),
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  for (const end = Date.now() + 10_000; out.split("\n").length <= 3; await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end || child.exitCode !== null) {
      child.kill("SIGKILL");
      assert.fail(`tail gave ${out.split("\n").length - 1} of 3 lines: ${err}`);
    }
  }
  child.kill("SIGINT");
  const code = await exited;
  return { lines: out.trimEnd().split("\n"), code, stderr: err };
}

/** `obs serve` with one client of EXEC: the connected message (without its time) and the replay. */
async function serveOnce(file: string, asReader: boolean): Promise<{ messages: unknown[]; code: number | null }> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--no-otlp", "--json", "--db", file], {
    stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, ...ENV }, ...(asReader ? READER : {}),
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve((JSON.parse(out.slice(0, out.indexOf("\n"))) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  const ws = new WebSocket(`${url}?observability=${EXEC}`);
  const messages: Record<string, unknown>[] = [];
  ws.on("message", (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const done = () => messages.length > 0 && messages.length === 1 + (messages[0]!.bufferedEventCount as number);
  for (const end = Date.now() + 10_000; !done(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) assert.fail(`serve sent ${messages.length} messages: ${err}`);
  }
  ws.close();
  child.kill("SIGINT");
  delete messages[0]!.timestamp;
  return { messages, code: await exited };
}

async function checkLive(kind: string, file: string): Promise<void> {
  const before = state(file);
  const { stderr: said, ...tail } = await tailOnce(file, false);
  assert.equal(tail.code, 0, `${kind}: tail`);
  assert.doesNotMatch(said, /read-only/, `${kind}: tail on a writable file follows it`);
  assert.deepEqual(state(file), before, `${kind}: obs tail changed the file or left something beside it`);
  const served = await serveOnce(file, false);
  assert.equal(served.code, 0, `${kind}: serve`);
  assert.deepEqual(state(file), before, `${kind}: obs serve changed the file or left something beside it`);
  readOnly(file, true);
  try {
    const { stderr: saidReadOnly, ...tailReadOnly } = await tailOnce(file, true);
    assert.deepEqual(tailReadOnly, tail, `${kind}: tail read-only`);
    // Where no one can write, tail says it will show nothing new, unless SQLite's own locking still works (not WAL mode).
    if (kind !== "foreign") assert.match(saidReadOnly, /is read-only here \(the file or its directory\), so it is read as it is now/);
    assert.deepEqual(await serveOnce(file, true), served, `${kind}: serve read-only`);
  } finally {
    readOnly(file, false);
  }
  assert.deepEqual(state(file), before, `${kind}: tail or serve, read-only, changed something`);
}

test("every read command on a current file: nothing changes, nothing is left beside it, and read-only gives the same answer", async () => {
  const file = await currentFile();
  const r = await checkOneShots("current", file);
  // They read what is there (a sample, so a command answering nothing would not pass).
  assert.equal(r.get(`validate ${EXEC}`)!.code, 0);
  assert.equal(r.get(`errors ${EXEC}`)!.code, 1);
  assert.match(r.get(`errors ${EXEC}`)!.stdout, /make: \*\*\* no rule/);
  assert.match(r.get("search express")!.stdout, /Use \*express\*/);
  assert.equal(JSON.parse(r.get(`query A001 ${EXEC} --json`)!.stdout)[0].tool_calls, 3);
  assert.match(r.get("prune --dry-run --older-than 1d")!.stdout, /^would remove 1 execution last active before 2026-01-19 00:00:00/);
  await checkLive("current", file);
});

test("every read command on a file an older obs left: read as it is (never migrated), unchanged, the same read-only", async () => {
  const file = olderFile();
  const r = await checkOneShots("older", file);
  assert.equal(r.get(`validate ${EXEC}`)!.code, 0, r.get(`validate ${EXEC}`)!.stderr);
  assert.match(r.get(`errors ${EXEC}`)!.stdout, /make: \*\*\* no rule/);
  assert.deepEqual(JSON.parse(r.get(`query A001 ${EXEC} --json`)!.stdout).map((x: { tool_calls: number; input_tokens: number | null }) => [x.tool_calls, x.input_tokens]), [[1, null]]);
  // Search needs the index a newer obs builds; the command says so, the same way read-only.
  assert.equal(r.get("search express")!.code, 2);
  assert.match(r.get("search express")!.stderr, /no search index/);
  assert.match(r.get(`export ${EXEC} --jsonl`)!.stdout, /"tool_use_id":"ro-tu1"/);
  assert.match(r.get("prune --dry-run --older-than 1d")!.stdout, /^would remove 1 execution/);
  await checkLive("older", file);
});

test("every read command on another producer's file (rollback journal, tables missing): unchanged, the same read-only", async () => {
  const file = foreignFile();
  const r = await checkOneShots("foreign", file);
  assert.match(r.get(`trace ${EXEC} --tools`)!.stdout, /^ Read {7}1 {8}0 /m);
  assert.deepEqual([r.get(`query A001 ${EXEC} --json`)!.stdout, r.get(`query A001 ${EXEC} --json`)!.stderr], ["[]\n", "obs: A001 skipped: no table skill_traces\n"]);
  assert.match(r.get(`export ${EXEC} --jsonl`)!.stdout, /"tool_use_id":"f-t1"/);
  assert.match(r.get("config")!.stdout, /^retention: not set/);
  assert.match(r.get("prune --dry-run --older-than 1d")!.stdout, /^would remove 1 execution/);
  await checkLive("foreign", file);
});

test("a command that writes, where it may not: one line naming the directory and what to do (ingest, init, demo, serve)", () => {
  const dir = tmpDir();
  const src = path.join(dir, "run.jsonl");
  fs.writeFileSync(src, JSON.stringify({ kind: "execution:status", execution_id: EXEC, timestamp: NOW, status: "running" }) + "\n");
  fs.chmodSync(dir, 0o555);
  const db = path.join(dir, "obs.db");
  for (const args of [["ingest", src], ["init"], ["demo"], ["serve", "--port", "0", "--otlp-port", "0"]]) {
    const r = spawnSync(process.execPath, [BIN, ...args, "--db", db], { encoding: "utf8", env: { PATH: process.env.PATH, ...ENV }, timeout: 20_000, ...READER });
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stdout, "", args[0]);
    assert.match(r.stderr, new RegExp(`^obs: cannot write ${db.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: the directory .* is read-only to obs`, "m"), args[0]);
    assert.match(r.stderr, /choose a --db where you may write/, args[0]);
    assert.doesNotMatch(r.stderr, /SQLITE_|at .*\.js:\d+/, `${args[0]}: no driver code, no stack`);
    if (args[0] === "serve") assert.match(r.stderr, /--no-otlp/);
  }
  fs.chmodSync(dir, 0o755);
});
