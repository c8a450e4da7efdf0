/**
 * The exact record: an entry's identity comes from what it is, never from where or when it was
 * read; a producer's id names a row within its execution; one thing several executions carry
 * is counted once, by the execution that started first. Expected rows worked out by hand.
 */
import Database from "better-sqlite3";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { openReadOnly } from "../src/db/open.js";
import { generateDemo } from "../src/demo/generate.js";
import { QUERIES } from "../src/queries/index.js";
import { runQuery } from "../src/queries/run.js";
import type { Query } from "../src/queries/types.js";
import { A001 } from "../src/queries/aggregation.js";
import { L001, L004 } from "../src/queries/listing.js";
import { V001 } from "../src/queries/validation.js";
import { all, cli, one, spawn, BIN, tmpDb, tmpDir, writeJsonl } from "./helpers.js";
import { at, line, rows } from "./query-helpers.js";

const entry = (exec: string, s: number, summary: string, extra: Record<string, unknown> = {}) =>
  line(exec, s, "transcript:entry", { entry_type: "discovery", category: "c", summary, ...extra });

const count = (db: string, exec?: string) =>
  Number(one(db, `SELECT COUNT(*) AS n FROM transcript_entries${exec ? " WHERE execution_id = ?" : ""}`, ...(exec ? [exec] : []))?.n);

test("two entries that share a sequence number are both kept, and V001 reports the repeat", async () => {
  const db = tmpDb();
  const file = writeJsonl(path.join(tmpDir(), "e.jsonl"), [
    entry("e", 0, "one", { sequence: 1 }),
    entry("e", 1, "two", { sequence: 2 }),
    entry("e", 2, "also two", { sequence: 2 }),
  ]);
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  assert.deepEqual(all(db, `SELECT sequence, summary FROM transcript_entries ORDER BY sequence, summary`).map((r) => ({ ...r })), [
    { sequence: 1, summary: "one" },
    { sequence: 2, summary: "also two" },
    { sequence: 2, summary: "two" },
  ]);
  assert.deepEqual(rows(db, V001, { execution_id: "e" }), [{ execution_id: "e", sequence: 2, prev_seq: 2, gap: 0, issue: "repeat" }]);
  // Read again, nothing is added and nothing repaired.
  await cli(["ingest", "-", "--db", db], { stdin: fs.readFileSync(file, "utf8") });
  assert.equal(count(db), 3);
});

test("an id-less line read again by any way adds nothing; identical lines are the k-th entry each", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const lines = [
    entry("e", 0, "start"),
    entry("e", 1, "same"),
    entry("e", 1, "same"), // identical to the line before: a second entry
    entry("e", 2, "end"),
  ];
  const text = lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
  const file = path.join(dir, "run.jsonl");
  fs.writeFileSync(file, text);
  await cli(["ingest", file, "--db", db]);
  assert.equal(count(db), 4);
  assert.deepEqual(all(db, `SELECT sequence FROM transcript_entries ORDER BY sequence`).map((r) => r.sequence), [1, 2, 3, 4]);

  // The same text on stdin, a copy at another path, the file replaced by the same content.
  await cli(["ingest", "-", "--db", db], { stdin: text });
  const copy = path.join(dir, "elsewhere", "copy.jsonl");
  fs.mkdirSync(path.dirname(copy));
  fs.copyFileSync(file, copy);
  await cli(["ingest", copy, "--db", db]);
  fs.rmSync(file);
  fs.writeFileSync(file, text);
  await cli(["ingest", file, "--db", db]);
  assert.equal(count(db), 4);
  assert.deepEqual(all(db, `SELECT sequence FROM transcript_entries ORDER BY sequence`).map((r) => r.sequence), [1, 2, 3, 4], "sequences kept, none given twice");

  // Grown by a third identical "same" line: read on from where it stopped, it is a new entry.
  fs.appendFileSync(file, JSON.stringify(entry("e", 1, "same")) + "\n");
  await cli(["ingest", file, "--db", db]);
  assert.equal(count(db), 5);
  assert.equal(Number(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE summary = 'same'`)?.n), 3);
  // …and the same longer text read whole by another way is still the same five entries.
  await cli(["ingest", "-", "--db", db], { stdin: fs.readFileSync(file, "utf8") });
  // Truncated and rewritten from its start, the same.
  fs.writeFileSync(file, "");
  await cli(["ingest", file, "--db", db]);
  fs.writeFileSync(file, text + JSON.stringify(entry("e", 1, "same")) + "\n");
  await cli(["ingest", file, "--db", db]);
  assert.equal(count(db), 5);
});

test("model calls without an id are known by their line: two alike in time and model are two calls, and a line read again adds none", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  // Producers that write timestamps to the second: three calls in one second, two of them identical.
  const call = (input: number, output: number) => line("L1", 4, "llm:call", { model: "claude-sonnet-4-5", input_tokens: input, output_tokens: output });
  const text = [call(100, 50), call(200, 70), call(100, 50)].map((l) => JSON.stringify(l)).join("\n") + "\n";
  const file = path.join(dir, "calls.jsonl");
  fs.writeFileSync(file, text);
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  const sums = () => ({ ...one(db, `SELECT COUNT(*) AS n, SUM(input_tokens) AS input, SUM(output_tokens) AS output FROM llm_calls WHERE execution_id = 'L1'`) });
  // 100 + 200 + 100 and 50 + 70 + 50, worked out by hand.
  assert.deepEqual(sums(), { n: 3, input: 400, output: 170 });
  // The same text again on stdin, and the file grown by a fourth call identical to the first.
  await cli(["ingest", "-", "--db", db], { stdin: text });
  assert.deepEqual(sums(), { n: 3, input: 400, output: 170 });
  fs.appendFileSync(file, JSON.stringify(call(100, 50)) + "\n");
  await cli(["ingest", file, "--db", db]);
  assert.deepEqual(sums(), { n: 4, input: 500, output: 220 });
});

test("a followed file that grows by a line identical to an earlier one gets a new entry", async (t) => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "run.jsonl");
  const same = JSON.stringify(entry("e", 1, "same")) + "\n";
  fs.writeFileSync(file, JSON.stringify(entry("e", 0, "start")) + "\n" + same);
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", file, "--db", db], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  const until = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      try {
        if (count(db) === n) return;
      } catch {
        /* not created yet */
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(count(db), n);
  };
  await until(2);
  fs.appendFileSync(file, same);
  await until(3);
  fs.appendFileSync(file, same);
  await until(4);
  child.kill("SIGINT");
  assert.equal(await new Promise((r) => child.on("exit", r)), 0);
  // Started again over the whole file, it repeats nothing.
  await cli(["ingest", file, "--db", db]);
  assert.equal(count(db), 4);
});

test("a demo run with its ids removed, ingested from a file and then from stdin, is one run", async () => {
  const run = generateDemo()[0]!;
  const text = run.lines.map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    delete o.entry_id;
    return JSON.stringify(o);
  }).join("\n") + "\n";
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "demo.jsonl");
  fs.writeFileSync(file, text);
  await cli(["ingest", file, "--db", db]);
  const n = count(db);
  // Every line that makes an entry made one: counted from the text, not by obs.
  const kinds = new Set(["transcript:entry", "tool:start", "skill:start", "skill:end", "assertion:result"]);
  assert.equal(n, run.lines.filter((l) => kinds.has((JSON.parse(l) as { kind: string }).kind)).length);
  await cli(["ingest", "-", "--db", db], { stdin: text });
  assert.equal(count(db), n);
});

test("a producer's id names a row within its execution; one thing two executions carry is counted once", async () => {
  const db = tmpDb();
  // Run b is a copy of run a (a resumed session carrying a's history) and goes on with work of its own.
  const history = (exec: string) => [
    line(exec, 0, "tool:start", { tool_use_id: "tu-1", tool: "Read", input: { file_path: "a.ts" }, entry_id: "en-1" }),
    line(exec, 1, "tool:end", { tool_use_id: "tu-1", is_error: true, error_message: "no such file" }),
    line(exec, 2, "llm:call", { id: `${exec}/msg-1`, response_id: "msg-1", model: "claude-sonnet-4-5", input_tokens: 100, output_tokens: 10, cost_usd: 0.5 }),
  ];
  const a = [line("a", 0, "execution:status", { status: "started" }), ...history("a")];
  const b = [
    line("b", 60, "execution:status", { status: "started" }),
    ...history("b"),
    line("b", 61, "tool:start", { tool_use_id: "tu-2", tool: "Edit", input: { file_path: "a.ts" } }),
    line("b", 62, "tool:end", { tool_use_id: "tu-2", is_error: false }),
    line("b", 63, "llm:call", { id: "b/msg-2", response_id: "msg-2", model: "claude-sonnet-4-5", input_tokens: 200, output_tokens: 20, cost_usd: 1 }),
  ];
  // The copy is ingested first: ownership follows the record's time, not the order of reading.
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "b.jsonl"), b), "--db", db]);
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "a.jsonl"), a), "--db", db]);
  assert.deepEqual(all(db, `SELECT id, execution_id, replay_of FROM tool_uses ORDER BY execution_id, id`).map((r) => ({ ...r })), [
    { id: "tu-1@a", execution_id: "a", replay_of: null },
    { id: "tu-1", execution_id: "b", replay_of: "a" },
    { id: "tu-2", execution_id: "b", replay_of: null },
  ]);
  assert.deepEqual(all(db, `SELECT id, execution_id, replay_of FROM transcript_entries WHERE id LIKE 'en-1%' ORDER BY execution_id`).map((r) => ({ ...r })), [
    { id: "en-1@a", execution_id: "a", replay_of: null },
    { id: "en-1", execution_id: "b", replay_of: "a" },
  ]);
  const summary = (exec: string) => {
    const r = rows(db, A001, { execution_id: exec })[0]!;
    return { tool_calls: r.tool_calls, errors: r.errors, model_calls: r.model_calls, input: r.input_tokens, cost: r.cost_usd, replayed_calls: r.replayed_model_calls, replayed_cost: r.replayed_cost_usd, replayed_tools: r.replayed_tool_calls };
  };
  assert.deepEqual(summary("a"), { tool_calls: 1, errors: 1, model_calls: 1, input: 100, cost: 0.5, replayed_calls: 0, replayed_cost: null, replayed_tools: 0 });
  assert.deepEqual(summary("b"), { tool_calls: 1, errors: 0, model_calls: 1, input: 200, cost: 1, replayed_calls: 1, replayed_cost: 0.5, replayed_tools: 1 });
  const listed = rows(db, L001, {}).map((r) => ({ id: r.execution_id, cost: r.cost_usd, replayed: r.replayed_cost_usd }));
  assert.deepEqual(listed, [{ id: "b", cost: 1, replayed: 0.5 }, { id: "a", cost: 0.5, replayed: null }]);
  // Read again, in either order, nothing moves.
  await cli(["ingest", "-", "--db", db], { stdin: b.map((l) => JSON.stringify(l)).join("\n") });
  assert.equal(Number(one(db, `SELECT COUNT(*) AS n FROM tool_uses`)?.n), 3);
  assert.deepEqual(summary("b").replayed_calls, 1);
});

test("exact copies of one run: the one recorded first owns what they share", async () => {
  const db = tmpDb();
  const run = (exec: string) => [
    line(exec, 0, "execution:status", { status: "started" }),
    line(exec, 1, "llm:call", { id: `${exec}/r`, response_id: "r", model: "m", input_tokens: 5, output_tokens: 1, cost_usd: 0.25 }),
    line(exec, 2, "tool:start", { tool_use_id: "t", tool: "Bash", input: { command: "true" } }),
  ];
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "x.jsonl"), run("x")), "--db", db]);
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "y.jsonl"), run("y")), "--db", db]);
  assert.deepEqual(all(db, `SELECT execution_id, replay_of FROM llm_calls ORDER BY execution_id`).map((r) => ({ ...r })), [
    { execution_id: "x", replay_of: null },
    { execution_id: "y", replay_of: "x" },
  ]);
  assert.equal(Number(one(db, `SELECT SUM(cost_usd) AS c FROM llm_calls WHERE replay_of IS NULL`)?.c), 0.25);
  assert.equal(at(0) < at(1), true);
});

test("a file written before replays and 1-hour cache writes were recorded still answers every query", async () => {
  const db = tmpDb();
  await cli(["demo", "--db", db]);
  const w = new Database(db);
  w.pragma("foreign_keys = OFF");
  for (const t of ["tool_uses", "transcript_entries", "tasks", "llm_calls"]) w.exec(`ALTER TABLE ${t} DROP COLUMN replay_of`);
  w.exec(`ALTER TABLE llm_calls DROP COLUMN cache_write_1h_tokens; ALTER TABLE llm_calls DROP COLUMN reasoning_tokens`);
  w.close();
  // A connection per query: the stand-ins one query makes must not cover for another.
  for (const q of [...QUERIES, L001, L004] as unknown as Query<Record<string, unknown>>[]) {
    const r = openReadOnly(db);
    try {
      const params: Record<string, unknown> = { now: null, execution_id: "exec-103", task_id: "task-103-13", correlation_id: null, task_list_id: null, since: null, until: null, status: null };
      for (const o of q.options ?? []) params[o.name] = o.default;
      const res = runQuery(r, q, params);
      assert.equal(res.skipped, false, `${q.id}: ${res.skipped ? res.reason : ""}`);
    } finally {
      r.close();
    }
  }
  const r = openReadOnly(db);
  const a = runQuery(r, A001, { execution_id: "exec-103" }).rows[0]!;
  r.close();
  assert.equal(a.tool_calls, 218);
  assert.equal(a.replayed_tool_calls, 0);
});
