/**
 * Seed 000's "Phase 1 Test Validation Script", ported: it checks a database obs creates has
 * every table, column, index, view, trigger and foreign key of migrations 087 and 088.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { freshDb } from "./helpers.js";

interface ColumnInfo { cid: number; name: string; type: string; notnull: number; dflt_value: string | null; pk: number }

const { db } = freshDb();
const columnsOf = (t: string) => db.prepare(`PRAGMA table_info(${t})`).all() as ColumnInfo[];

test("TEST 1: all required tables exist", () => {
  const required = [
    "transcript_entries", "tool_uses", "skill_traces", "assertion_results", "assertion_chains", "message_bus_log",
    "wave_statistics", "concurrent_execution_sessions",
  ];
  const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((t) => t.name);
  for (const t of required) assert.ok(names.includes(t), `FAIL: Required table '${t}' does not exist`);
});

test("TEST 2: transcript_entries schema (sequence INTEGER NOT NULL)", () => {
  const cols = columnsOf("transcript_entries");
  for (const c of ["id", "timestamp", "sequence", "execution_id", "task_id", "instance_id", "wave_number", "entry_type", "category", "summary", "details", "wave_id"]) {
    assert.ok(cols.some((x) => x.name === c), `transcript_entries missing column '${c}'`);
  }
  const seq = cols.find((c) => c.name === "sequence");
  assert.equal(seq?.type, "INTEGER");
  assert.equal(seq?.notnull, 1);
});

test("TEST 3: tool_uses schema (is_error defaults to 0)", () => {
  const cols = columnsOf("tool_uses");
  for (const c of ["id", "execution_id", "task_id", "transcript_entry_id", "tool", "tool_category", "input", "input_summary", "result_status", "output", "output_summary", "is_error", "is_blocked", "start_time", "end_time", "duration_ms", "wave_id"]) {
    assert.ok(cols.some((x) => x.name === c), `tool_uses missing column '${c}'`);
  }
  assert.equal(cols.find((c) => c.name === "is_error")?.dflt_value, "0");
});

test("TEST 4: assertion_results schema", () => {
  const cols = columnsOf("assertion_results");
  for (const c of ["id", "task_id", "execution_id", "category", "description", "result", "evidence", "chain_id", "timestamp", "wave_id"]) {
    assert.ok(cols.some((x) => x.name === c), `assertion_results missing column '${c}'`);
  }
});

// The seed's list has 38 names although its expected output reads "37/37"; every one must exist.
const REQUIRED_INDEXES = [
  "idx_transcript_execution", "idx_transcript_task", "idx_transcript_type", "idx_transcript_timestamp",
  "idx_transcript_exec_sequence", "idx_transcript_wave_id",
  "idx_tool_use_execution", "idx_tool_use_task", "idx_tool_use_tool", "idx_tool_use_category", "idx_tool_use_status",
  "idx_tool_use_timestamp", "idx_tool_use_skill", "idx_tool_use_errors", "idx_tool_use_blocked", "idx_tool_use_wave_id",
  "idx_skill_trace_execution", "idx_skill_trace_skill", "idx_skill_trace_task", "idx_skill_trace_status",
  "idx_assertion_task", "idx_assertion_execution", "idx_assertion_result", "idx_assertion_chain", "idx_assertion_category",
  "idx_assertion_failures", "idx_assertion_wave_id",
  "idx_chain_execution", "idx_chain_task",
  "idx_mbus_log_timestamp", "idx_mbus_log_severity", "idx_mbus_log_category", "idx_mbus_log_source",
  "idx_mbus_log_event_type", "idx_mbus_log_correlation", "idx_mbus_log_errors",
  "idx_wave_stats_execution", "idx_wave_stats_timing",
];

test("TEST 5: every required index exists", () => {
  const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((i) => i.name);
  const missing = REQUIRED_INDEXES.filter((i) => !names.includes(i));
  assert.deepEqual(missing, [], `missing indexes: ${missing.join(", ")}`);
  assert.equal(REQUIRED_INDEXES.length - missing.length, REQUIRED_INDEXES.length);
  // The partial indexes are partial, as the seed defines them.
  const partial = db.prepare(`SELECT name, sql FROM sqlite_master WHERE name IN ('idx_tool_use_errors','idx_tool_use_blocked','idx_assertion_failures','idx_mbus_log_errors')`).all() as { name: string; sql: string }[];
  for (const p of partial) assert.match(p.sql, /WHERE/, `${p.name} should be partial`);
});

/** Runs `f` on rows inserted for it, then takes them away again (the database is shared by these tests). */
function withRows<T>(sql: string, f: () => T): T {
  db.exec("BEGIN");
  try {
    db.exec(sql);
    return f();
  } finally {
    db.exec("ROLLBACK");
  }
}

test("TEST 6: the views exist and return what their tables hold", () => {
  const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'view'`).all() as { name: string }[]).map((v) => v.name);
  for (const v of ["v_wave_progress", "v_active_agents"]) assert.ok(names.includes(v), `view ${v} missing`);
  // One running wave of three tasks (one completed, one failed, one running), its recorded
  // statistics, and two agents of which one is done.
  withRows(`
    INSERT INTO task_list_execution_runs (id, status) VALUES ('x', 'running');
    INSERT INTO parallel_execution_waves (id, execution_run_id, wave_number, status, started_at) VALUES ('w1', 'x', 1, 'running', '2026-01-16T09:00:00Z');
    INSERT INTO tasks (id, execution_id, title, status) VALUES ('t1', 'x', 'One', 'completed'), ('t2', 'x', 'Two', 'failed'), ('t3', 'x', 'Three', 'running');
    INSERT INTO wave_task_assignments (wave_id, task_id) VALUES ('w1', 't1'), ('w1', 't2'), ('w1', 't3');
    INSERT INTO wave_statistics (wave_id, execution_id, wave_number, task_count, pass_rate, duration_ms, max_parallel_agents) VALUES ('w1', 'x', 1, 3, 0.5, 1000, 2);
    INSERT INTO build_agent_instances (id, execution_id, task_id, wave_id, status, spawned_at, last_heartbeat_at)
         VALUES ('a1', 'x', 't3', 'w1', 'working', '2026-01-16T09:00:01Z', '2026-01-16T09:00:05Z'),
                ('a2', 'x', 't1', 'w1', 'completed', '2026-01-16T09:00:01Z', '2026-01-16T09:00:04Z');`, () => {
    assert.deepEqual(db.prepare(`SELECT * FROM v_wave_progress`).all().map((r) => ({ ...(r as object) })), [{
      wave_id: "w1", execution_id: "x", wave_number: 1, status: "running", started_at: "2026-01-16T09:00:00Z", completed_at: null,
      recorded_task_count: 3, recorded_pass_rate: 0.5, duration_ms: 1000, max_parallel_agents: 2,
      total_tasks: 3, completed_tasks: 1, failed_tasks: 1, running_tasks: 1,
    }]);
    assert.deepEqual(db.prepare(`SELECT * FROM v_active_agents`).all().map((r) => ({ ...(r as object) })), [{
      instance_id: "a1", execution_id: "x", status: "working", task_id: "t3", task_title: "Three", wave_id: "w1", wave_number: 1,
      spawned_at: "2026-01-16T09:00:01Z", last_heartbeat_at: "2026-01-16T09:00:05Z",
    }]);
  });
});

test("TEST 7: trigger tr_event_to_log exists and copies events into message_bus_log", () => {
  const t = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = 'tr_event_to_log'`).get();
  assert.ok(t);
  db.prepare(`INSERT INTO events (id, execution_id, timestamp, source, event_type, severity, human_summary) VALUES ('e-trig', 'x', '2026-01-16T09:00:00.000Z', 'test', 'ping', 'info', 'hello')`).run();
  const row = db.prepare(`SELECT event_id, human_summary FROM message_bus_log WHERE event_id = 'e-trig'`).get() as { event_id: string; human_summary: string };
  assert.deepEqual({ ...row }, { event_id: "e-trig", human_summary: "hello" });
  db.prepare(`DELETE FROM message_bus_log WHERE event_id = 'e-trig'`).run();
  db.prepare(`DELETE FROM events WHERE id = 'e-trig'`).run();
});

test("TEST 8: foreign keys are declared", () => {
  const fk = (t: string) => db.prepare(`PRAGMA foreign_key_list(${t})`).all() as { table: string; from: string }[];
  assert.ok(fk("tool_uses").some((f) => f.table === "transcript_entries" && f.from === "transcript_entry_id"));
  assert.ok(fk("assertion_results").some((f) => f.table === "assertion_chains" && f.from === "chain_id"));
  assert.ok(fk("message_bus_log").some((f) => f.table === "events" && f.from === "event_id"));
  assert.ok(fk("transcript_entries").some((f) => f.table === "parallel_execution_waves" && f.from === "wave_id"));
});

test("TEST 9: data insertion and cleanup works", () => {
  const exec = "test-exec-" + Date.now();
  db.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, instance_id, entry_type, category, summary)
              VALUES (?, datetime('now'), 1, ?, ?, 'phase_start', 'lifecycle', 'Test entry')`).run("te-" + Date.now(), exec, "test-instance");
  assert.equal((db.prepare(`SELECT COUNT(*) AS cnt FROM transcript_entries WHERE execution_id = ?`).get(exec) as { cnt: number }).cnt, 1);
  db.prepare(`DELETE FROM transcript_entries WHERE execution_id = ?`).run(exec);
});

test("TEST 10: the seed's V001, T001 and P001 queries run on the schema and find what is there", () => {
  // Entries 1, 2, 4 (a gap of 2), one failed and one good tool call, two waves of 2 and 0 tasks.
  withRows(`
    INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type) VALUES
      ('s1', '2026-01-16T09:00:01Z', 1, 'test', 'phase_start'), ('s2', '2026-01-16T09:00:02Z', 2, 'test', 'tool_use'), ('s4', '2026-01-16T09:00:04Z', 4, 'test', 'phase_end');
    INSERT INTO tool_uses (id, execution_id, task_id, tool, result_status, output_summary, start_time) VALUES
      ('u1', 'test', 'tk', 'Bash', 'error', 'make: *** no rule', '2026-01-16T09:00:02Z'), ('u2', 'test', 'tk', 'Read', 'done', 'ok', '2026-01-16T09:00:03Z');
    INSERT INTO parallel_execution_waves (id, execution_run_id, wave_number, status, started_at, completed_at) VALUES
      ('tw1', 'test', 1, 'completed', '2026-01-16T09:00:00Z', '2026-01-16T09:00:03Z'), ('tw2', 'test', 2, 'pending', NULL, NULL);
    INSERT INTO wave_task_assignments (wave_id, task_id) VALUES ('tw1', 'a'), ('tw1', 'b');`, () => {
    const plain = (sql: string) => db.prepare(sql).all().map((r) => ({ ...(r as object) }));
    assert.deepEqual(plain(`SELECT execution_id, sequence,
                                   LAG(sequence) OVER (PARTITION BY execution_id ORDER BY sequence) AS prev_seq,
                                   sequence - LAG(sequence) OVER (PARTITION BY execution_id ORDER BY sequence) AS gap
                              FROM transcript_entries WHERE execution_id = 'test'`), [
      { execution_id: "test", sequence: 1, prev_seq: null, gap: null },
      { execution_id: "test", sequence: 2, prev_seq: 1, gap: 1 },
      { execution_id: "test", sequence: 4, prev_seq: 2, gap: 2 },
    ]);
    assert.deepEqual(plain(`SELECT 'tool_error' AS error_type, tu.tool AS source, tu.start_time AS occurred_at,
                                   SUBSTR(tu.output_summary, 1, 200) AS details, tu.task_id
                              FROM tool_uses tu WHERE tu.execution_id = 'test' AND tu.result_status = 'error'`), [
      { error_type: "tool_error", source: "Bash", occurred_at: "2026-01-16T09:00:02Z", details: "make: *** no rule", task_id: "tk" },
    ]);
    assert.deepEqual(plain(`SELECT w.wave_number, w.status, w.started_at, w.completed_at, COUNT(wta.task_id) AS total_tasks
                              FROM parallel_execution_waves w LEFT JOIN wave_task_assignments wta ON w.id = wta.wave_id
                             WHERE w.execution_run_id = 'test' GROUP BY w.id ORDER BY w.wave_number`), [
      { wave_number: 1, status: "completed", started_at: "2026-01-16T09:00:00Z", completed_at: "2026-01-16T09:00:03Z", total_tasks: 2 },
      { wave_number: 2, status: "pending", started_at: null, completed_at: null, total_tasks: 0 },
    ]);
  });
});

test("the file is in WAL mode with foreign keys declared but not enforced", () => {
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(db.pragma("foreign_keys", { simple: true }), 0);
});
