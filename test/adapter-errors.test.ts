/**
 * Each adapter keeps an error's own text: as the error entry's summary (what `obs errors`
 * shows as its details) and as a failed tool call's error message. Records written as the
 * seeds' producers write them (test/seed-records.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { all, cli, one, tmpDir } from "./helpers.js";
import { T0, writeEventLog, writeTraceStore, type Event } from "./seed-records.js";

const at = (s: number) => T0 + s * 1000;

async function ingest(file: string): Promise<string> {
  const db = path.join(tmpDir(), "obs.db");
  const r = await cli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  return db;
}

async function errorDetails(db: string, exec: string): Promise<string[]> {
  const r = await cli(["errors", exec, "--db", db, "--json"]);
  assert.equal(r.code, 1, r.stderr);
  return (JSON.parse(r.stdout).T001 as { details: string }[]).map((e) => e.details);
}

test("trace store: an error trace's data.error, data.message, or exception object is its summary and its error", async () => {
  const s = "sess-errors";
  const file = writeTraceStore(path.join(tmpDir(), "agent_traces.db"), [{ id: s, task: "t", started: at(0), ended: at(10), status: "failed" }], [
    { id: "e1", session_id: s, type: "error", at: at(1), data: { error: "FileNotFoundError: b.py" } },
    { id: "e2", session_id: s, type: "step_failed", at: at(2), data: { message: "Could not parse the plan" } },
    { id: "e3", session_id: s, type: "error", at: at(3), data: { message: "Step 2 failed", error: "KeyError: 'path'" } },
    { id: "e4", session_id: s, type: "error", at: at(4), data: { error: { type: "TimeoutError", message: "model did not answer in 30s" } } },
    { id: "e5", session_id: s, type: "error", at: at(5), data: {} },
  ]);
  const db = await ingest(file);
  assert.deepEqual(all(db, `SELECT id, summary FROM transcript_entries WHERE entry_type = 'error' ORDER BY timestamp`).map((r) => `${r.id} ${r.summary}`), [
    "e1 FileNotFoundError: b.py",
    "e2 Could not parse the plan",
    "e3 Step 2 failed: KeyError: 'path'",
    "e4 TimeoutError: model did not answer in 30s",
    "e5 error",
  ]);
  assert.deepEqual(await errorDetails(db, s), [
    "FileNotFoundError: b.py", "Could not parse the plan", "Step 2 failed: KeyError: 'path'", "TimeoutError: model did not answer in 30s", "error",
  ]);
});

test("trace store: a tool trace's error is its error message; data.error null is no failure; a failure without a duration is kept", async () => {
  const s = "sess-tools";
  const file = writeTraceStore(path.join(tmpDir(), "agent_traces.db"), [{ id: s, task: "t", started: at(0) }], [
    { id: "t1", session_id: s, type: "tool_called", at: at(1), duration_ms: 40, data: { tool: "read_file", params: { path: "a.py" }, error: null } },
    { id: "t2", session_id: s, type: "tool_called", at: at(2), duration_ms: 90, data: { tool: "write_file", params: { path: "b.py" }, error: "PermissionError: b.py" } },
    { id: "t3", session_id: s, type: "tool_called", at: at(3), data: { tool: "http_get", params: { url: "x" }, error: { type: "ConnectionError", message: "refused" } } },
    { id: "t4", session_id: s, type: "tool_failed", at: at(4), duration_ms: 10, data: { tool: "shell", message: "exit status 2" } },
  ]);
  const db = await ingest(file);
  assert.deepEqual(all(db, `SELECT id, result_status, is_error, error_message, duration_ms FROM tool_uses ORDER BY id`).map((r) => ({ ...r })), [
    { id: "t1", result_status: "done", is_error: 0, error_message: null, duration_ms: 40 },
    { id: "t2", result_status: "error", is_error: 1, error_message: "PermissionError: b.py", duration_ms: 90 },
    { id: "t3", result_status: "error", is_error: 1, error_message: "ConnectionError: refused", duration_ms: 0 },
    { id: "t4", result_status: "error", is_error: 1, error_message: "exit status 2", duration_ms: 10 },
  ]);
  assert.deepEqual(await errorDetails(db, s), ["PermissionError: b.py", "ConnectionError: refused", "exit status 2"]);
});

test("EventLog: an error event's message and its metadata.error are its summary; a message that says it already is not repeated", async () => {
  const s = "sess-eventlog-errors";
  const e = (sec: number, event_type: string, message: string, metadata: Record<string, unknown> = {}, extra: Partial<Event> = {}): Event =>
    ({ event_type, at: at(sec), session_id: s, message, metadata, ...extra });
  const file = writeEventLog(path.join(tmpDir(), "workspaces", s, "events.jsonl"), [
    e(0, "session_started", "Session started"),
    e(1, "error", "Coordinator error", { error: "RuntimeError: retry budget exhausted" }),
    e(2, "error", "", { error: "ValueError: empty plan" }),
    e(3, "verification_failed", "Verification failed: AssertionError: 1 != 2", { error: "AssertionError: 1 != 2" }),
    e(4, "diff_failed", "Patch did not apply", { error_message: "hunk 2 of src/a.ts did not match" }),
    e(5, "task_failed", "Task task_9 failed", { error: { type: "TimeoutError", message: "agent took over 600s" } }, { task_id: "task_9" }),
    e(6, "warning", "Slow response", { error: "not an error event" }),
    e(7, "session_failed", "Session failed", { error: "3 tasks failed" }),
  ]);
  const db = await ingest(file);
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries WHERE entry_type = 'error' ORDER BY sequence`).map((r) => r.summary), [
    "Coordinator error: RuntimeError: retry budget exhausted",
    "ValueError: empty plan",
    "Verification failed: AssertionError: 1 != 2",
    "Patch did not apply: hunk 2 of src/a.ts did not match",
    "Task task_9 failed: TimeoutError: agent took over 600s",
    "Session failed: 3 tasks failed",
  ]);
  assert.equal(one(db, `SELECT summary FROM transcript_entries WHERE category = 'warning'`)!.summary, "Slow response", "a warning is no error: its message alone");
  assert.equal(one(db, `SELECT message FROM task_list_execution_runs WHERE id = ?`, s)!.message, "Session failed: 3 tasks failed");
  const details = await errorDetails(db, s);
  assert.ok(details.includes("Coordinator error: RuntimeError: retry budget exhausted"), details.join("\n"));
  assert.ok(details.includes("ValueError: empty plan"));
});
