/**
 * Records written exactly as the design documents' Python producers write them, for tests that
 * read them end to end:
 * - a trace store: TraceStore._init_db's tables and indexes (WAL), TraceStore.start_session /
 *   save_trace / end_session's rows, datetimes as Python's isoformat() writes an aware UTC
 *   datetime, `data` as json.dumps writes it;
 * - an EventLog: one Event.to_dict() per line through json.dumps, timestamps as
 *   datetime.utcnow().isoformat() writes them (naive, microseconds only when non-zero).
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

/** Python's datetime.isoformat(): microseconds only when non-zero; "+00:00" for an aware UTC time. */
export function isoformat(ms: number, aware: boolean): string {
  const d = new Date(ms);
  const base = d.toISOString().slice(0, 19);
  const micros = d.getUTCMilliseconds() * 1000;
  return base + (micros ? `.${String(micros).padStart(6, "0")}` : "") + (aware ? "+00:00" : "");
}

/** json.dumps with its default separators (", " and ": ") and ensure_ascii. */
export function pyDumps(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(", ")}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyDumps(k)}: ${pyDumps(x)}`).join(", ")}}`;
}

/** TraceStore._init_db, as the plan specifies it. */
const TRACE_STORE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS agent_trace_sessions (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, started_at TEXT NOT NULL, completed_at TEXT, status TEXT NOT NULL DEFAULT 'running');
  CREATE TABLE IF NOT EXISTS agent_traces (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, type TEXT NOT NULL, timestamp TEXT NOT NULL, duration_ms REAL,
    parent_trace_id TEXT, data TEXT, input_tokens INTEGER, output_tokens INTEGER, model_used TEXT, provider_used TEXT,
    cost_usd REAL, raw_input TEXT, raw_output TEXT, created_at TEXT);
  CREATE INDEX IF NOT EXISTS idx_traces_session ON agent_traces(session_id);
  CREATE INDEX IF NOT EXISTS idx_traces_timestamp ON agent_traces(timestamp);
  CREATE INDEX IF NOT EXISTS idx_traces_type ON agent_traces(type);
  CREATE TABLE IF NOT EXISTS trace_settings (key TEXT PRIMARY KEY, value TEXT);`;

/** One TraceEntry as the plan defines it (every optional field None unless given). */
export interface TraceEntry {
  id: string;
  session_id: string;
  type: string;
  /** Milliseconds since the epoch. */
  at: number;
  duration_ms?: number | null;
  parent_trace_id?: string | null;
  data?: Record<string, unknown>;
  input_tokens?: number | null;
  output_tokens?: number | null;
  model_used?: string | null;
  provider_used?: string | null;
  cost_usd?: number | null;
  raw_input?: string | null;
  raw_output?: string | null;
}

export interface TraceSession {
  id: string;
  task: string;
  started: number;
  ended?: number;
  status?: "running" | "completed" | "failed" | "cancelled";
}

/** Writes a trace store file the way TraceStore does: sessions started (and ended), traces saved. */
export function writeTraceStore(file: string, sessions: TraceSession[], traces: TraceEntry[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(TRACE_STORE_SCHEMA);
  const start = db.prepare(`INSERT INTO agent_trace_sessions (id, task, started_at, completed_at, status) VALUES (?, ?, ?, ?, ?)`);
  const end = db.prepare(`UPDATE agent_trace_sessions SET completed_at = ?, status = ? WHERE id = ?`);
  const save = db.prepare(`INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, data, input_tokens,
    output_tokens, model_used, provider_used, cost_usd, raw_input, raw_output, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const s of sessions) start.run(s.id, s.task, isoformat(s.started, true), null, "running");
  for (const t of traces) {
    save.run(t.id, t.session_id, t.type, isoformat(t.at, true), t.duration_ms ?? null, t.parent_trace_id ?? null, pyDumps(t.data ?? {}),
      t.input_tokens ?? null, t.output_tokens ?? null, t.model_used ?? null, t.provider_used ?? null, t.cost_usd ?? null,
      t.raw_input?.slice(0, 4096) ?? null, t.raw_output?.slice(0, 4096) ?? null, isoformat(t.at, true));
  }
  for (const s of sessions) if (s.ended !== undefined) end.run(isoformat(s.ended, true), s.status ?? "completed", s.id);
  db.close();
  return file;
}

/** One Event as the plan defines it; to_dict() gives every field, None as null. */
export interface Event {
  event_type: string;
  /** Milliseconds since the epoch. */
  at: number;
  session_id: string;
  message: string;
  phase?: string | null;
  task_id?: string | null;
  agent_role?: string | null;
  model?: string | null;
  metadata?: Record<string, unknown>;
}

/** Event.to_dict(), key for key in its order. */
export function toDict(e: Event): Record<string, unknown> {
  return {
    event_type: e.event_type, timestamp: isoformat(e.at, false), session_id: e.session_id, message: e.message,
    phase: e.phase ?? null, task_id: e.task_id ?? null, agent_role: e.agent_role ?? null, model: e.model ?? null, metadata: e.metadata ?? {},
  };
}

/** EventLog.append for each event: json.dumps(event.to_dict()) + "\n", appended. */
export function writeEventLog(file: string, events: Event[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, events.map((e) => pyDumps(toDict(e)) + "\n").join(""));
  return file;
}

export const T0 = Date.parse("2026-01-16T11:00:00.000Z");
const s = (sec: number) => T0 + Math.round(sec * 1000);

/**
 * The trace store of a failed debugging session and a clean one, as TraceViewer's plan
 * describes them: trace_started, model_selected, step_started → tool_called, llm_call, error →
 * step_completed, trace_ended, nested by parent_trace_id.
 */
export const STORE = {
  failed: "9b2f4c1e-7d3a-4e6b-8f10-2a5c6d7e8f90",
  clean: "c0ffee00-1111-4222-8333-444455556666",
  ids: {
    start: "1d9c2f0a-0001-4000-8000-000000000001",
    model: "1d9c2f0a-0002-4000-8000-000000000002",
    step: "1d9c2f0a-0003-4000-8000-000000000003",
    read: "1d9c2f0a-0004-4000-8000-000000000004",
    llm: "1d9c2f0a-0005-4000-8000-000000000005",
    error: "1d9c2f0a-0006-4000-8000-000000000006",
    write: "1d9c2f0a-0007-4000-8000-000000000007",
    done: "1d9c2f0a-0008-4000-8000-000000000008",
    end: "1d9c2f0a-0009-4000-8000-000000000009",
  },
};

export function seedTraceStore(file: string): string {
  const { sessions, traces } = storeRecord();
  return writeTraceStore(file, sessions, traces);
}

/** The sessions and traces seedTraceStore writes, for tests to work out what to expect. */
export function storeRecord(): { sessions: TraceSession[]; traces: TraceEntry[] } {
  const f = STORE.failed;
  const i = STORE.ids;
  return {
    sessions: [
      { id: f, task: "Fix the failing import in a.py", started: s(0), ended: s(9.5), status: "failed" },
      { id: STORE.clean, task: "Summarise the changelog", started: s(100), ended: s(104), status: "completed" },
    ],
    traces: [
      { id: i.start, session_id: f, type: "trace_started", at: s(0), data: { task: "Fix the failing import in a.py" } },
      { id: i.model, session_id: f, type: "model_selected", at: s(0.25), parent_trace_id: i.start,
        data: { model: "claude-3-5-sonnet", provider: "anthropic", reason: "Best for code" } },
      { id: i.step, session_id: f, type: "step_started", at: s(1), parent_trace_id: i.start, data: { step: 1, description: "Read both files" } },
      { id: i.read, session_id: f, type: "tool_called", at: s(1.5), duration_ms: 120.5, parent_trace_id: i.step,
        data: { tool: "read_file", params: { path: "a.py" } }, raw_output: "import b\n" },
      { id: i.llm, session_id: f, type: "llm_call", at: s(2), duration_ms: 2300, parent_trace_id: i.step, data: { purpose: "plan the fix" },
        input_tokens: 1200, output_tokens: 300, model_used: "claude-3-5-sonnet-20241022", provider_used: "anthropic", raw_input: "Fix a.py", raw_output: "Read b.py" },
      { id: i.error, session_id: f, type: "error", at: s(4.5), parent_trace_id: i.step, data: { error: "FileNotFoundError: b.py" } },
      { id: i.write, session_id: f, type: "tool_called", at: s(5), duration_ms: 1500, parent_trace_id: i.step,
        data: { tool: "write_file", params: { path: "b.py" }, error: "PermissionError: [Errno 13] Permission denied: 'b.py'" } },
      { id: i.done, session_id: f, type: "step_completed", at: s(7), duration_ms: 6000, parent_trace_id: i.step, data: { step: 1, success: false } },
      { id: i.end, session_id: f, type: "trace_ended", at: s(9.5), parent_trace_id: i.start, data: { status: "failed" } },
      { id: "c0ffee00-0001-4000-8000-000000000001", session_id: STORE.clean, type: "trace_started", at: s(100), data: { task: "Summarise the changelog" } },
      { id: "c0ffee00-0002-4000-8000-000000000002", session_id: STORE.clean, type: "llm_call", at: s(101), duration_ms: 2000,
        parent_trace_id: "c0ffee00-0001-4000-8000-000000000001", input_tokens: 500, output_tokens: 100, model_used: "claude-3-5-sonnet-20241022", provider_used: "anthropic", cost_usd: 0.003 },
      { id: "c0ffee00-0003-4000-8000-000000000003", session_id: STORE.clean, type: "trace_ended", at: s(104), parent_trace_id: "c0ffee00-0001-4000-8000-000000000001", data: { status: "completed" } },
    ],
  };
}

/**
 * An EventLog of one session as SessionCoordinator emits it: phase transitions, the task's
 * lifecycle (task_started without an agent, as the coordinator writes it), LLM requests and
 * responses with their tokens (the helpers' agent_role), gates, a diff, a failed verification,
 * an error whose exception is in metadata.error, a failed task and session.
 */
export const LOG = { session: "a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", task: "task_123" };

export function seedEventLog(file: string): string {
  return writeEventLog(file, logEvents());
}

/** The events seedEventLog writes, for tests to work out what to expect. */
export function logEvents(): Event[] {
  const id = LOG.session;
  const task = LOG.task;
  const e = (sec: number, event_type: string, message: string, extra: Partial<Event> = {}): Event => ({ event_type, at: s(sec), session_id: id, message, ...extra });
  return [
    e(0, "session_started", "Session started", { phase: "IDEA" }),
    e(1, "phase_transition", "Phase transition: IDEA → PLAN_REVIEW", { phase: "PLAN_REVIEW", metadata: { old_phase: "IDEA", new_phase: "PLAN_REVIEW" } }),
    e(2, "info", "TaskGraph enqueued for execution", { phase: "PLAN_REVIEW" }),
    e(3, "phase_transition", "Phase transition: PLAN_REVIEW → EXECUTION", { phase: "EXECUTION", metadata: { old_phase: "PLAN_REVIEW", new_phase: "EXECUTION" } }),
    e(4, "task_started", `Executing task: ${task}`, { phase: "EXECUTION", task_id: task, metadata: { description: "Add the login form", role: "coder" } }),
    e(5, "llm_request_sent", "LLM request to claude-sonnet-4-5 for coder", { task_id: task, agent_role: "coder", model: "claude-sonnet-4-5", metadata: { prompt_tokens: 150 } }),
    e(7.25, "llm_response_received", "LLM response from claude-sonnet-4-5", { task_id: task, agent_role: "coder", model: "claude-sonnet-4-5",
      metadata: { prompt_tokens: 150, completion_tokens: 300, total_tokens: 450 } }),
    e(8, "gate_evaluated", "Gate evaluated: workspace_boundary passed", { phase: "EXECUTION", task_id: task, metadata: { gate: "workspace_boundary", passed: true } }),
    e(9, "diff_applied", "Applied patch to src/login.tsx", { phase: "EXECUTION", task_id: task, metadata: { file: "src/login.tsx" } }),
    e(10, "command_executed", "npm test", { phase: "EXECUTION", task_id: task, metadata: { command: "npm test", exit_code: 1 } }),
    e(12, "verification_failed", "Verification failed", { phase: "EXECUTION", task_id: task, metadata: { error: "AssertionError: expected 200, got 500" } }),
    e(13, "error", "Coordinator error", { phase: "EXECUTION", metadata: { error: "RuntimeError: retry budget exhausted" } }),
    e(14, "task_failed", `Task ${task} failed`, { phase: "EXECUTION", task_id: task, metadata: { error: "verification failed after 3 attempts" } }),
    e(15, "session_failed", "Session failed", { phase: "EXECUTION" }),
  ];
}
