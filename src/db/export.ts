import type { DB } from "./open.js";
import { rowsIfPresent, tablesOf } from "./tables.js";

/**
 * An execution written back as obs events (docs/events.md), so it moves between databases:
 * ingesting the export into an empty database gives the same rows. Every event names the ids
 * and sequences the rows have, links the transcript entries the tool calls, skills and
 * assertions already have (so none is made twice), and comes in time order, which is the
 * order the derived rows (chain counts, wave statistics, agent status) were computed in.
 */

type Row = Record<string, unknown>;
type Event = Record<string, unknown> & { kind: string; timestamp: string };

const parse = (v: unknown): unknown => {
  if (typeof v !== "string") return v ?? undefined;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};
/** Only the fields that hold something: an event says what it knows. */
const known = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

/**
 * The table each id field of an event names a row of, as ingest scopes them (see fold.ts): a
 * model call's and an entry's own `id` by their kind.
 */
const ID_FIELDS: Record<string, string> = {
  task_id: "tasks", current_task_id: "tasks", depends_on: "tasks", task_ids: "tasks",
  instance_id: "build_agent_instances", wave_id: "parallel_execution_waves",
  transcript_entry_id: "transcript_entries", tool_use_id: "tool_uses", parent_tool_use_id: "tool_uses",
  within_skill: "skill_traces", skill_trace_id: "skill_traces", chain_id: "assertion_chains",
  assertion_id: "assertion_results", event_id: "events",
};
const OWN_ID: Record<string, string> = { "transcript:entry": "transcript_entries", "llm:call": "llm_calls" };
/** The column naming a row's execution, per table with producer ids. */
const EXECUTION_OF: Record<string, string> = { parallel_execution_waves: "execution_run_id" };

const TERMINAL_AGENT = new Set(["completed", "failed", "terminated"]);
const TASK_DONE = new Set(["completed", "failed", "skipped"]);

export function exportEvents(db: DB, exec: string): Event[] {
  const out: Event[] = [];
  const at = (ts: unknown) => String(ts);
  /** `exact` fields are written even when null: a tool's input is required, and may be null. */
  const push = (kind: string, ts: unknown, fields: Record<string, unknown>, order: number, exact: Record<string, unknown> = {}) =>
    out.push({ kind, execution_id: exec, timestamp: at(ts), ...known(fields), ...exact, _order: order } as Event);
  // A table the file lacks (another producer's file, an older obs's) has nothing to export.
  const tables = tablesOf(db);
  const rows = (sql: string, params: unknown = { exec }) => rowsIfPresent<Row>(db, tables, sql, params);

  const run = rows(`SELECT * FROM task_list_execution_runs WHERE id = @exec`)[0];
  // A run only registered (its lines never said its status) has no status to say: ingest registers it again.
  if (run && run.status !== null && run.status !== undefined) {
    const first = { task_list_id: run.task_list_id, session_id: run.session_id, cwd: run.cwd, git_branch: run.git_branch };
    const finalAt = run.status_at ?? run.completed_at ?? run.started_at;
    if (run.started_at && finalAt !== run.started_at) {
      push("execution:status", run.started_at, { status: "started", ...first }, 0);
      // Completed, then going again (a resumed session): the completion is kept as it was.
      if (run.completed_at && run.completed_at !== finalAt && run.completed_at !== run.started_at && run.status !== "completed" && run.status !== "failed") push("execution:status", run.completed_at, { status: "completed" }, 8);
      push("execution:status", finalAt, { status: run.status, message: run.message }, 9);
    } else {
      push("execution:status", run.started_at ?? finalAt, { status: run.status, message: run.message, ...first }, 0);
    }
  }

  const assignments = new Map<string, Row>();
  for (const a of rows(`SELECT a.* FROM wave_task_assignments a JOIN parallel_execution_waves w ON w.id = a.wave_id WHERE w.execution_run_id = @exec`)) {
    if (a.status !== null || a.instance_id !== null) assignments.set(String(a.task_id), a);
  }
  for (const t of rows(`SELECT * FROM tasks WHERE execution_id = @exec`)) {
    const deps = rows(`SELECT depends_on_task_id AS d FROM task_dependencies WHERE task_id = ?`, [t.id]).map((x) => x.d as string);
    const a = assignments.get(String(t.id));
    // The wave goes on the lines that said it: the start when the assignment has one, the last status when it has it.
    const wave = a ? { wave_id: a.wave_id, instance_id: a.instance_id } : {};
    const waveAtStart = a && a.started_at !== null ? wave : {};
    const waveAtEnd = a && (a.started_at === null || a.status === t.status) ? wave : {};
    const about = { task_id: t.id, title: t.title, display_id: t.display_id, file_path: t.file_path, ...(deps.length ? { depends_on: deps } : {}) };
    const finalAt = t.status_at ?? t.completed_at ?? t.started_at;
    // Its start is a line of its own (only "running" starts a task), also when it ended at the same moment.
    if (t.started_at && !(finalAt === t.started_at && t.status === "running")) {
      push("task:status", t.started_at, { ...about, status: "running", ...waveAtStart }, 2);
      if (t.completed_at && t.completed_at !== finalAt && !TASK_DONE.has(String(t.status))) push("task:status", t.completed_at, { task_id: t.id, status: "completed" }, 7);
      push("task:status", finalAt, { task_id: t.id, status: t.status, ...waveAtEnd }, 7);
    } else {
      push("task:status", finalAt, { ...about, status: t.status, ...(t.started_at ? waveAtStart : waveAtEnd) }, 2);
    }
  }

  for (const w of rows(`SELECT * FROM parallel_execution_waves WHERE execution_run_id = @exec`)) {
    const taskIds = rows(`SELECT task_id FROM wave_task_assignments WHERE wave_id = ?`, [w.id]).map((x) => x.task_id as string);
    const base = { wave_id: w.id, wave_number: w.wave_number };
    if (w.started_at) push("wave:status", w.started_at, { ...base, status: "running", task_ids: taskIds }, 1);
    if (w.completed_at) push("wave:status", w.completed_at, { ...base, status: w.status }, 8);
    else if (!w.started_at || w.status !== "running") push("wave:status", w.started_at ?? run?.started_at, { ...base, status: w.status, ...(w.started_at ? {} : { task_ids: taskIds }) }, 8);
  }

  // Transcript entries first at their moment, so the rows that link them find them.
  for (const e of rows(`SELECT * FROM transcript_entries WHERE execution_id = @exec ORDER BY sequence`)) {
    push("transcript:entry", e.timestamp, {
      id: e.id, sequence: e.sequence, entry_type: e.entry_type, category: e.category ?? "", summary: e.summary ?? "",
      details: parse(e.details), duration_ms: e.duration_ms, task_id: e.task_id, instance_id: e.instance_id, wave_number: e.wave_number, wave_id: e.wave_id,
    }, 3);
  }
  for (const t of rows(`SELECT * FROM tool_uses WHERE execution_id = @exec`)) {
    const ctx = { tool_use_id: t.id, task_id: t.task_id, wave_id: t.wave_id };
    if (t.start_time) {
      push("tool:start", t.start_time, {
        ...ctx, tool: t.tool, tool_category: t.tool_category, input_summary: t.input_summary,
        within_skill: t.within_skill, parent_tool_use_id: t.parent_tool_use_id, transcript_entry_id: t.transcript_entry_id,
      }, 4, { input: parse(t.input) ?? null });
    }
    const end = { ...ctx, is_error: t.is_error === 1, output: parse(t.output), output_summary: t.output_summary, error_message: t.error_message };
    if (t.is_blocked) {
      // A call that ended and was blocked keeps what its end said.
      if (t.is_error === 1 || t.output !== null || t.output_summary !== null || t.error_message !== null) push("tool:end", t.end_time ?? t.start_time, end, 5);
      push("tool:blocked", t.end_time ?? t.start_time, { ...ctx, reason: t.block_reason ?? "" }, 5);
    } else if (t.result_status === "done" || t.result_status === "error") {
      push("tool:end", t.end_time, end, 5);
    } else if (t.output !== null && t.output !== undefined) {
      // Still running, with what it streamed so far: streamed again, as one chunk.
      const streamed = parse(t.output);
      push("tool:output", t.start_time, { ...ctx, chunk: typeof streamed === "string" ? streamed : JSON.stringify(streamed) }, 5);
    }
  }
  const skillEntry = (type: string, id: unknown) =>
    rows(`SELECT id FROM transcript_entries WHERE execution_id = @exec AND entry_type = @type AND json_extract(details, '$.skill_trace_id') = @id`, { exec, type, id })[0] as { id: string } | undefined;
  for (const s of rows(`SELECT * FROM skill_traces WHERE execution_id = @exec`)) {
    // A skill row does not store its entries; linking any id only stops ingest making new ones.
    const link = (type: string) => skillEntry(type, s.id)?.id ?? `${String(s.id)}#${type}`;
    const ctx = { skill_trace_id: s.id, task_id: s.task_id, instance_id: s.instance_id };
    if (s.start_time) {
      push("skill:start", s.start_time, { ...ctx, skill_name: s.skill_name, skill_file: s.skill_file ?? "", line_number: s.line_number ?? 0, section_title: s.section_title ?? "", transcript_entry_id: link("skill_invoke") }, 4);
    }
    if (s.status) push("skill:end", s.end_time ?? s.start_time, { ...ctx, status: s.status, error: s.error_message, transcript_entry_id: link("skill_complete") }, 6);
  }
  for (const c of rows(`SELECT * FROM assertion_chains WHERE execution_id = @exec`)) {
    if (c.started_at) push("assertion:chain_start", c.started_at, { chain_id: c.id, task_id: c.task_id ?? "", description: c.description }, 4);
    if (c.completed_at) push("assertion:chain_end", c.completed_at, { chain_id: c.id, task_id: c.task_id }, 6);
  }
  for (const r of rows(`SELECT * FROM assertion_results WHERE execution_id = @exec`)) {
    push("assertion:result", r.timestamp, {
      assertion_id: r.id, chain_id: r.chain_id, task_id: r.task_id ?? "", category: r.category ?? "", description: r.description ?? "", result: r.result,
      evidence: parse(r.evidence), duration_ms: r.duration_ms, transcript_entry_id: r.transcript_entry_id, wave_id: r.wave_id,
    }, 5);
  }
  for (const e of rows(`SELECT * FROM events WHERE execution_id = @exec`)) {
    push("messagebus:event", e.timestamp, {
      event_id: e.id, source: e.source ?? "", event_type: e.event_type ?? "", severity: e.severity, human_summary: e.human_summary ?? "",
      correlation_id: e.correlation_id, category: e.category, payload: parse(e.payload), task_id: e.task_id,
    }, 5);
  }
  const agents = new Map(rows(`SELECT * FROM build_agent_instances WHERE execution_id = @exec`).map((a) => [a.id, a]));
  const last = new Map<unknown, Row>();
  for (const h of rows(`SELECT * FROM agent_heartbeats WHERE execution_id = @exec ORDER BY timestamp, rowid`)) {
    const a = agents.get(h.instance_id);
    // The agent's task: the heartbeat's, or the one its last line named as the line's task.
    const task = h.current_task_id === null && a && h.timestamp === a.last_heartbeat_at ? { task_id: a.task_id } : {};
    push("agent:heartbeat", h.timestamp, {
      instance_id: h.instance_id, status: h.status, current_task_id: h.current_task_id, metrics: parse(h.metrics), wave_id: a?.wave_id,
      agent_type: a?.agent_type, ...task,
      // A named heartbeat keeps its name (an id obs makes is the agent and the time).
      ...(h.id !== `${String(h.instance_id)}@${String(h.timestamp)}` ? { heartbeat_id: h.id } : {}),
    }, 5);
    last.set(h.instance_id, h);
  }
  for (const [id, a] of agents) {
    // Two heartbeats at one moment are one row of agent_heartbeats (the first) but both told the
    // agent's status: the later is said again, its heartbeat row the one already there.
    const h = last.get(id);
    if (!h || h.timestamp !== a.last_heartbeat_at || h.status === a.status) continue;
    const ends = TERMINAL_AGENT.has(String(a.status));
    if (ends && a.completed_at !== a.last_heartbeat_at) continue;
    push("agent:heartbeat", a.last_heartbeat_at, {
      instance_id: id, status: a.status, current_task_id: a.task_id, wave_id: a.wave_id, agent_type: a.agent_type,
      metrics: a.error_message !== null ? { error: a.error_message } : undefined,
    }, 6);
  }
  for (const l of rows(`SELECT * FROM llm_calls WHERE execution_id = @exec`)) {
    push("llm:call", l.end_time ?? l.start_time, {
      id: l.id, model: l.model, provider: l.provider, input_tokens: l.input_tokens ?? 0, output_tokens: l.output_tokens ?? 0,
      cache_read_tokens: l.cache_read_tokens, cache_write_tokens: l.cache_write_tokens, cache_write_1h_tokens: l.cache_write_1h_tokens,
      reasoning_tokens: l.reasoning_tokens, response_id: l.response_id, cost_usd: l.cost_usd, duration_ms: l.duration_ms,
      transcript_entry_id: l.transcript_entry_id, task_id: l.task_id, instance_id: l.instance_id,
    }, 5);
  }
  for (const e of out) producerIds(db, tables, exec, e);
  // Time order; within one moment, what creates a row before what updates it.
  out.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : (a._order as number) - (b._order as number)));
  for (const e of out) delete e._order;
  return out;
}

/**
 * The ids of an event as its producer gave them. Ingest stores an id another execution holds as
 * `<id>@<execution>` (docs/events.md, Identity); written back so, ingest would take the suffixed
 * id for a producer's own and the copies would no longer be one thing recorded twice (replay_of
 * lost). So the suffix is taken off where the bare id is another execution's row, and ingest
 * scopes it again, marking the copies as it did.
 */
function producerIds(db: DB, tables: Set<string>, exec: string, e: Event): void {
  const suffix = `@${exec}`;
  const bare = (table: string, v: unknown): unknown => {
    if (typeof v !== "string" || !v.endsWith(suffix) || !tables.has(table)) return v;
    const id = v.slice(0, -suffix.length);
    const held = db.prepare(`SELECT 1 FROM ${table} WHERE id = ? AND ${EXECUTION_OF[table] ?? "execution_id"} IS NOT ? LIMIT 1`).get(id, exec);
    return held ? id : v;
  };
  for (const [field, table] of Object.entries(ID_FIELDS)) {
    const v = e[field];
    if (v === undefined) continue;
    e[field] = Array.isArray(v) ? v.map((x) => bare(table, x)) : bare(table, v);
  }
  const own = OWN_ID[e.kind];
  if (own && e.id !== undefined) e.id = bare(own, e.id);
}
