/**
 * Seed 004's EventLog and seed 002's trace store, hand-written from the seeds' field lists,
 * through `obs ingest` with the format detected per file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { all, cli, one, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

function eventLog(session = "sess-42") {
  const e = (t: string, event_type: string, message: string, extra: Record<string, unknown> = {}) => ({
    event_type, timestamp: `2026-01-16T10:00:${t}`, session_id: session, message, phase: null, task_id: null, agent_role: null, model: null, metadata: {}, ...extra,
  });
  return [
    e("00.000", "session_started", "Session started"),
    e("01.000", "phase_transition", "Phase transition: IDEA → BUILD", { phase: "BUILD", metadata: { old_phase: "IDEA", new_phase: "BUILD" } }),
    e("02.000", "task_scheduled", "Scheduled task_1", { task_id: "task_1", metadata: { description: "Create the API" } }),
    e("03.000", "task_started", "Executing task: task_1", { task_id: "task_1", agent_role: "worker" }),
    e("04.000", "llm_request_sent", "LLM request to claude-sonnet-4-5 for worker", { task_id: "task_1", agent_role: "worker", model: "claude-sonnet-4-5", metadata: { prompt_tokens: 1500 } }),
    e("06.500", "llm_response_received", "LLM response from claude-sonnet-4-5", { task_id: "task_1", agent_role: "worker", model: "claude-sonnet-4-5", metadata: { completion_tokens: 300, total_tokens: 1800 } }),
    e("07.000", "gate_blocked", "Gate blocked: writes outside the workspace", { task_id: "task_1", agent_role: "worker", metadata: { gate: "workspace_boundary" } }),
    e("08.000", "diff_failed", "Patch did not apply to src/api.ts", { task_id: "task_1", agent_role: "worker" }),
    e("09.000", "task_failed", "Task task_1 failed", { task_id: "task_1", agent_role: "worker" }),
    e("10.000", "error", "Coordinator error: retry budget exhausted"),
    e("11.000", "session_failed", "Session failed"),
  ];
}

test("an EventLog: session → execution, tasks, model calls from request and response, a gate block, errors, phases", async () => {
  const db = tmpDb();
  const file = writeJsonl(path.join(tmpDir(), "workspaces", "sess-42", "events.jsonl"), eventLog());
  const r = await cli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual({ ...one(db, `SELECT status, started_at, completed_at FROM task_list_execution_runs WHERE id = 'sess-42'`) }, {
    status: "failed", started_at: "2026-01-16T10:00:00.000Z", completed_at: "2026-01-16T10:00:11.000Z",
  });
  assert.deepEqual({ ...one(db, `SELECT status, title, started_at FROM tasks WHERE id = 'task_1'`) }, { status: "failed", title: "Create the API", started_at: "2026-01-16T10:00:03.000Z" });
  // claude-sonnet-4-5: (1500 × $3 + 300 × $15) per million = $0.009.
  assert.deepEqual({ ...one(db, `SELECT model, input_tokens, output_tokens, duration_ms, cost_usd, instance_id FROM llm_calls`) }, {
    model: "claude-sonnet-4-5", input_tokens: 1500, output_tokens: 300, duration_ms: 2500, cost_usd: 0.009, instance_id: "sess-42/worker",
  });
  assert.deepEqual({ ...one(db, `SELECT tool, result_status, is_blocked, block_reason FROM tool_uses`) }, {
    tool: "gate:workspace_boundary", result_status: "blocked", is_blocked: 1, block_reason: "Gate blocked: writes outside the workspace",
  });
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries WHERE entry_type = 'error' ORDER BY sequence`).map((x) => x.summary), [
    "Patch did not apply to src/api.ts", "Task task_1 failed", "Coordinator error: retry budget exhausted", "Session failed",
  ]);
  assert.deepEqual(all(db, `SELECT entry_type, summary FROM transcript_entries WHERE category = 'phase' ORDER BY sequence`).map((x) => `${x.entry_type}: ${x.summary}`), [
    "phase_end: Phase IDEA ended", "phase_start: Phase transition: IDEA → BUILD",
  ]);
  const errors = JSON.parse((await cli(["errors", "sess-42", "--db", db, "--json"])).stdout);
  assert.deepEqual(errors.T002.map((b: { tool: string }) => b.tool), ["gate:workspace_boundary"]);
  assert.equal(errors.T001.length, 5, "four error entries and the failed task");
  const again = await cli(["ingest", file, "--db", db]);
  assert.match(again.stderr, /already up to date/);
});

test("an EventLog line without its session or type is named, with its line number", async () => {
  const lines: object[] = eventLog();
  lines.splice(3, 0, { event_type: "info", timestamp: "2026-01-16T10:00:02.500Z", message: "no session" });
  const file = writeJsonl(path.join(tmpDir(), "events.jsonl"), lines);
  const r = await cli(["ingest", file, "--db", tmpDb()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file}:4: missing field session_id`));
});

function traceStore(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE agent_trace_sessions (id TEXT PRIMARY KEY, task TEXT, started_at TEXT, completed_at TEXT, status TEXT);
    CREATE TABLE agent_traces (id TEXT PRIMARY KEY, session_id TEXT, type TEXT, timestamp TEXT, duration_ms REAL, parent_trace_id TEXT,
      data TEXT, input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT, cost_usd REAL, raw_input TEXT, raw_output TEXT, created_at TEXT);
    CREATE TABLE trace_settings (key TEXT PRIMARY KEY, value TEXT);
  `);
  db.prepare(`INSERT INTO agent_trace_sessions VALUES ('ts-1', 'Summarise the inbox', '2026-01-16 11:00:00', '2026-01-16 11:00:30', 'completed')`).run();
  const t = db.prepare(`INSERT INTO agent_traces VALUES (?, 'ts-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  t.run("tr-1", "step_started", "2026-01-16 11:00:01", null, null, JSON.stringify({ message: "Planning" }), null, null, null, null, null, null, null, null);
  t.run("tr-2", "model_selected", "2026-01-16 11:00:02", 1200.0, "tr-1", JSON.stringify({ model: "claude-3-5-sonnet", reason: "best for code" }), 800, 120, "claude-3-5-sonnet-20241022", "anthropic", null, "prompt…", "answer…", null);
  t.run("tr-3", "tool_called", "2026-01-16 11:00:05", 350.0, "tr-1", JSON.stringify({ tool: "mock_tool", params: { query: "test" } }), null, null, null, null, null, null, "3 results", null);
  t.run("tr-4", "tool_called", "2026-01-16 11:00:06", 90.0, "tr-1", JSON.stringify({ tool: "send_mail", params: { to: "x" }, error: "SMTP refused" }), null, null, null, null, null, null, null, null);
  t.run("tr-5", "step_completed", "2026-01-16 11:00:29", null, "tr-1", JSON.stringify({ message: "Done" }), 10, 5, "unknown-model-x", "acme", 0.5, null, null, null);
  db.close();
}

test("a trace store: sessions → executions, tool traces → tool calls with their parent, others → entries, tokens → model calls", async () => {
  const dir = tmpDir();
  const store = path.join(dir, "agent_traces.db");
  traceStore(store);
  writeJsonl(path.join(dir, "eventlog", "events.jsonl"), eventLog("sess-7"));
  const db = path.join(dir, "obs.db");
  // A directory walk takes each file with its adapter, and passes over the database it writes.
  const r = await cli(["ingest", dir, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ingested 2 sources/);
  assert.deepEqual({ ...one(db, `SELECT status, started_at, completed_at, message FROM task_list_execution_runs WHERE id = 'ts-1'`) }, {
    status: "completed", started_at: "2026-01-16T11:00:00.000Z", completed_at: "2026-01-16T11:00:30.000Z", message: "Summarise the inbox",
  });
  assert.deepEqual(all(db, `SELECT id, tool, result_status, duration_ms, parent_tool_use_id, error_message FROM tool_uses WHERE execution_id = 'ts-1' ORDER BY id`).map((x) => ({ ...x })), [
    { id: "tr-3", tool: "mock_tool", result_status: "done", duration_ms: 350, parent_tool_use_id: "tr-1", error_message: null },
    { id: "tr-4", tool: "send_mail", result_status: "error", duration_ms: 90, parent_tool_use_id: "tr-1", error_message: "SMTP refused" },
  ]);
  assert.deepEqual(all(db, `SELECT id, entry_type, summary, json_extract(details, '$.parent_trace_id') AS parent FROM transcript_entries WHERE execution_id = 'ts-1' AND entry_type <> 'tool_use' ORDER BY sequence`).map((x) => ({ ...x })), [
    { id: "tr-1", entry_type: "phase_start", summary: "Planning", parent: null },
    { id: "tr-2", entry_type: "decision", summary: "model_selected", parent: "tr-1" },
    { id: "tr-5", entry_type: "phase_end", summary: "Done", parent: "tr-1" },
  ]);
  // claude-3-5-sonnet: (800 × $3 + 120 × $15) / 1e6 = $0.0042; the producer's $0.5 wins for the other.
  assert.deepEqual(all(db, `SELECT model, input_tokens, output_tokens, cost_usd FROM llm_calls WHERE execution_id = 'ts-1' ORDER BY start_time`).map((x) => ({ ...x })), [
    { model: "claude-3-5-sonnet-20241022", input_tokens: 800, output_tokens: 120, cost_usd: 0.0042 },
    { model: "unknown-model-x", input_tokens: 10, output_tokens: 5, cost_usd: 0.5 },
  ]);
  const tree = await cli(["trace", "--exec", "ts-1", "--db", db]);
  assert.equal(tree.code, 0, tree.stderr);
  const again = await cli(["ingest", dir, "--db", db]);
  assert.match(again.stderr, /2 already up to date/);
  const notStore = path.join(dir, "other.sqlite");
  new Database(notStore).exec("CREATE TABLE t (x)");
  const named = await cli(["ingest", notStore, "--db", db]);
  assert.equal(named.code, 2);
  assert.match(named.stderr, /other\.sqlite is a SQLite database but not a trace store/);
  fs.rmSync(notStore);
});
