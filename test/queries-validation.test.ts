import Database from "better-sqlite3";
import { test } from "node:test";
import assert from "node:assert/strict";
import { openReadOnly } from "../src/db/open.js";
import { openWritable } from "../src/db/write.js";
import { QUERIES } from "../src/queries/index.js";
import { V001, V002, V003, V004, V005, V006, V007 } from "../src/queries/validation.js";
import { at, cleanRun, dbWith, line, rows } from "./query-helpers.js";

test("the checks and detectors find nothing in a clean run", async () => {
  const db = await dbWith(cleanRun());
  const quiet = QUERIES.filter((q) => q.family === "Validation" || q.family === "Detection" || ["T001", "T002", "T003", "T004", "T005", "P002", "P003"].includes(q.id));
  assert.equal(quiet.length, 7 + 7 + 7);
  for (const q of quiet) {
    const args = q.arg === "execution" ? { execution_id: "exec-clean" } : {};
    assert.deepEqual(rows(db, q, args), [], `${q.id} should find nothing in a clean run`);
  }
  assert.deepEqual(rows(db, QUERIES.find((q) => q.id === "T006")!, { task_id: "exec-clean-t1" }), [], "T006");
});

test("V001 finds gaps, repeats and a late start", async () => {
  const db = await dbWith([
    line("e", 0, "transcript:entry", { entry_type: "task_start", category: "c", summary: "1", sequence: 1 }),
    line("e", 1, "transcript:entry", { entry_type: "task_end", category: "c", summary: "2", sequence: 2 }),
    line("e", 2, "transcript:entry", { entry_type: "task_end", category: "c", summary: "4", sequence: 4 }),
    line("e", 3, "transcript:entry", { entry_type: "task_end", category: "c", summary: "4 again", sequence: 4, id: "dup" }),
    line("late", 0, "transcript:entry", { entry_type: "task_start", category: "c", summary: "3", sequence: 3 }),
  ]);
  assert.deepEqual(rows(db, V001, { execution_id: "e" }), [
    { execution_id: "e", sequence: 4, prev_seq: 2, gap: 2, issue: "gap" },
    { execution_id: "e", sequence: 4, prev_seq: 4, gap: 0, issue: "repeat" },
  ]);
  assert.deepEqual(rows(db, V001, { execution_id: "late" }), [{ execution_id: "late", sequence: 3, prev_seq: 0, gap: 3, issue: "starts after 1" }]);
});

test("V002 finds tool uses with no entry or a missing one", async () => {
  const db = await dbWith([
    line("e", 0, "tool:start", { tool_use_id: "ok", tool: "Read", input: {} }),
    line("e", 1, "tool:end", { tool_use_id: "end-only", is_error: false }),
    line("e", 2, "tool:start", { tool_use_id: "bad-link", tool: "Bash", input: {}, transcript_entry_id: "nowhere" }),
  ]);
  assert.deepEqual(rows(db, V002, { execution_id: "e" }), [
    { tool_use_id: "end-only", tool: null, transcript_entry_id: null, task_id: null, issue: "no transcript entry (tool:end without tool:start?)" },
    { tool_use_id: "bad-link", tool: "Bash", transcript_entry_id: "nowhere", task_id: null, issue: "transcript entry does not exist" },
  ]);
});

test("V003 finds end before start, negative durations and disagreeing durations", async () => {
  const db = await dbWith([
    line("e", 0, "execution:status", { status: "started" }),
    line("e", 10, "tool:start", { tool_use_id: "backwards", tool: "Bash", input: {} }),
    line("e", 5, "tool:end", { tool_use_id: "backwards", is_error: false }),
    line("e", 6, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "x", id: "neg" }),
    line("e", 7, "skill:start", { skill_trace_id: "s", skill_name: "n", skill_file: "f", line_number: 1, section_title: "t" }),
    line("e", 9, "skill:end", { skill_trace_id: "s", status: "success" }),
  ]);
  // Another producer wrote a skill whose duration disagrees with its times by 5 s, and an entry
  // with a negative duration (obs ingest refuses such a line; other programs write the tables).
  const w = openWritable(db);
  w.prepare(`UPDATE skill_traces SET duration_ms = 7000 WHERE id = 's'`).run();
  w.prepare(`UPDATE transcript_entries SET duration_ms = -3 WHERE id = 'neg'`).run();
  w.close();
  assert.deepEqual(rows(db, V003, { execution_id: "e" }), [
    { table: "transcript_entries", id: "neg", start: null, end: null, duration_ms: -3, issue: "negative duration" },
    { table: "skill_traces", id: "s", start: at(7), end: at(9), duration_ms: 7000, issue: "duration_ms 7000 but end − start is 2000" },
    { table: "tool_uses", id: "backwards", start: at(10), end: at(5), duration_ms: -5000, issue: "end before start" },
  ]);
});

test("V004 finds locks never released by the agent that took them", async () => {
  const lock = (s: number, agent: string, type: string, file: string, extra: Record<string, unknown> = {}) =>
    line("e", s, "transcript:entry", { instance_id: agent, entry_type: type, category: "coordination", summary: `${type} ${file}`, details: { file_path: file, ...extra }, id: `${type}-${agent}-${file}-${s}` });
  const db = await dbWith([
    lock(0, "a1", "lock_acquire", "f1", { state: "acquired" }),
    lock(1, "a1", "lock_release", "f1"),
    lock(2, "a2", "lock_acquire", "f2", { state: "acquired" }),
    lock(3, "a1", "lock_acquire", "f3", { state: "acquired" }),
    lock(4, "a2", "lock_release", "f3"),
    lock(5, "a3", "lock_acquire", "f1", { state: "waiting", held_by: "a1" }),
    lock(6, "a1", "lock_acquire", "f4", { state: "acquired" }),
    lock(7, "a1", "lock_release", "f4", { reason: "timeout" }),
  ]);
  assert.deepEqual(rows(db, V004, { execution_id: "e" }), [
    { instance_id: "a2", file_path: "f2", acquired_at: at(2), entry_id: "lock_acquire-a2-f2-2", task_id: null },
    { instance_id: "a1", file_path: "f3", acquired_at: at(3), entry_id: "lock_acquire-a1-f3-3", task_id: null },
  ]);
});

test("V005 finds chains never ended and chains whose counts disagree", async () => {
  const db = await dbWith([
    line("e", 0, "assertion:chain_start", { chain_id: "open", task_id: "t" }),
    line("e", 1, "assertion:result", { assertion_id: "r1", chain_id: "open", task_id: "t", category: "c", description: "d", result: "pass" }),
    line("e", 2, "assertion:chain_start", { chain_id: "ok", task_id: "t" }),
    line("e", 3, "assertion:result", { assertion_id: "r2", chain_id: "ok", task_id: "t", category: "c", description: "d", result: "fail" }),
    line("e", 4, "assertion:chain_end", { chain_id: "ok" }),
    line("e", 5, "assertion:chain_start", { chain_id: "miscounted", task_id: "t" }),
    line("e", 6, "assertion:chain_end", { chain_id: "miscounted" }),
  ]);
  const w = openWritable(db);
  w.prepare(`UPDATE assertion_chains SET pass_count = 5 WHERE id = 'miscounted'`).run();
  w.close();
  assert.deepEqual(rows(db, V005, { execution_id: "e" }), [
    { chain_id: "open", task_id: "t", overall_result: null, started_at: at(0), issue: "not ended (interrupted)" },
    { chain_id: "miscounted", task_id: "t", overall_result: "pass", started_at: at(5), issue: "counts 5/0/0 (pass/fail/skip) but results say 0/0/0" },
  ]);
});

test("V006 finds a wave given a task after its statistics were written", async () => {
  const db = await dbWith([
    line("e", 0, "wave:status", { wave_id: "w1", wave_number: 1, status: "running", task_ids: ["t1", "t2"] }),
    line("e", 5, "wave:status", { wave_id: "w1", wave_number: 1, status: "completed" }),
    line("e", 6, "task:status", { task_id: "t3", status: "running", wave_id: "w1" }),
    line("e", 7, "wave:status", { wave_id: "w2", wave_number: 2, status: "completed", task_ids: ["t4"] }),
  ]);
  assert.deepEqual(rows(db, V006, { execution_id: "e" }), [{ wave_id: "w1", wave_number: 1, recorded: 2, actual: 3 }]);
});

test("V007 finds dangling references, one row per missing parent, as PRAGMA foreign_key_check does", async () => {
  const db = await dbWith([
    line("e", 0, "execution:status", { status: "started" }),
    line("e", 0, "task:status", { task_id: "t1", status: "running" }),
    line("e", 1, "tool:start", { tool_use_id: "tu1", tool: "Read", input: {}, task_id: "t1", within_skill: "no-skill" }),
    line("e", 2, "tool:start", { tool_use_id: "tu2", tool: "Read", input: {}, task_id: "t1", within_skill: "no-skill" }),
    line("e", 3, "assertion:result", { assertion_id: "r1", chain_id: "no-chain", task_id: "t1", category: "c", description: "d", result: "pass" }),
    line("e", 4, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "s", task_id: "no-task", id: "te-x" }),
  ]);
  const found = rows(db, V007, { execution_id: "e" });
  assert.deepEqual(found, [
    { table: "transcript_entries", id: "te-x", column: "task_id", missing_parent: "tasks(no-task)", rows: 1 },
    { table: "tool_uses", id: "tu1", column: "within_skill", missing_parent: "skill_traces(no-skill)", rows: 2 },
    { table: "assertion_results", id: "r1", column: "chain_id", missing_parent: "assertion_chains(no-chain)", rows: 1 },
  ]);
  // With only this execution in the file, SQLite's own whole-file check must agree.
  const raw = openReadOnly(db);
  const pragma = raw
    .prepare(`SELECT c."table" AS "table", fk."from" AS "column", COUNT(*) AS n
                FROM pragma_foreign_key_check() c
                JOIN pragma_foreign_key_list(c."table") fk ON fk.id = c.fkid
               GROUP BY 1, 2 ORDER BY 1, 2`)
    .all() as { table: string; column: string; n: number }[];
  raw.close();
  const ours = [...found].map((f) => ({ table: f.table, column: f.column, n: f.rows })).sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
  assert.deepEqual(pragma.map((p) => ({ ...p })), ours);
});

test("V007 reports an execution whose run row is gone once per table, not once per row", async () => {
  const db = await dbWith([
    line("other", 0, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "s" }),
    line("other", 1, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "s" }),
  ]);
  // Ingest registers an execution its rows name, though no line said it started…
  assert.deepEqual(rows(db, V007, { execution_id: "other" }), []);
  // …so a missing run row is a reference that really dangles: the row removed underneath.
  const w = new Database(db);
  w.pragma("foreign_keys = OFF");
  w.prepare(`DELETE FROM task_list_execution_runs WHERE id = 'other'`).run();
  w.close();
  assert.deepEqual(rows(db, V007, { execution_id: "other" }).map((r) => `${r.table}.${r.column} → ${r.missing_parent} ×${r.rows}`), [
    "transcript_entries.execution_id → task_list_execution_runs(other) ×2",
  ]);
});
