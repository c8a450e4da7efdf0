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

export function exportEvents(db: DB, exec: string): Event[] {
  const out: Event[] = [];
  const at = (ts: unknown) => String(ts);
  const push = (kind: string, ts: unknown, fields: Record<string, unknown>, order: number) =>
    out.push({ kind, execution_id: exec, timestamp: at(ts), ...known(fields), _order: order } as Event);
  // A table the file lacks (another producer's file, an older obs's) has nothing to export.
  const tables = tablesOf(db);
  const rows = (sql: string, params: unknown = { exec }) => rowsIfPresent<Row>(db, tables, sql, params);

  const run = rows(`SELECT * FROM task_list_execution_runs WHERE id = @exec`)[0];
  if (run) {
    const first = { task_list_id: run.task_list_id, session_id: run.session_id, cwd: run.cwd, git_branch: run.git_branch };
    const finalAt = run.status_at ?? run.completed_at ?? run.started_at;
    if (run.started_at && finalAt !== run.started_at) {
      push("execution:status", run.started_at, { status: "started", ...first }, 0);
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
    const wave = a ? { wave_id: a.wave_id, instance_id: a.instance_id } : {};
    const about = { task_id: t.id, title: t.title, display_id: t.display_id, file_path: t.file_path, ...(deps.length ? { depends_on: deps } : {}) };
    const finalAt = t.status_at ?? t.completed_at ?? t.started_at;
    if (t.started_at && finalAt !== t.started_at) {
      push("task:status", t.started_at, { ...about, status: "running", ...wave }, 2);
      push("task:status", finalAt, { task_id: t.id, status: t.status, ...wave }, 7);
    } else {
      push("task:status", finalAt, { ...about, status: t.status, ...wave }, 2);
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
        ...ctx, tool: t.tool, tool_category: t.tool_category, input: parse(t.input) ?? null, input_summary: t.input_summary,
        within_skill: t.within_skill, parent_tool_use_id: t.parent_tool_use_id, transcript_entry_id: t.transcript_entry_id,
      }, 4);
    }
    if (t.is_blocked) push("tool:blocked", t.end_time ?? t.start_time, { ...ctx, reason: t.block_reason ?? "" }, 5);
    else if (t.result_status === "done" || t.result_status === "error") {
      push("tool:end", t.end_time, { ...ctx, is_error: t.is_error === 1, output: parse(t.output), output_summary: t.output_summary, error_message: t.error_message }, 5);
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
  const agentWave = new Map((rows(`SELECT id, wave_id FROM build_agent_instances WHERE execution_id = @exec`)).map((a) => [a.id, a.wave_id]));
  for (const h of rows(`SELECT * FROM agent_heartbeats WHERE execution_id = @exec`)) {
    push("agent:heartbeat", h.timestamp, {
      instance_id: h.instance_id, status: h.status, current_task_id: h.current_task_id, metrics: parse(h.metrics), wave_id: agentWave.get(h.instance_id),
    }, 5);
  }
  for (const l of rows(`SELECT * FROM llm_calls WHERE execution_id = @exec`)) {
    push("llm:call", l.end_time ?? l.start_time, {
      id: l.id, model: l.model, provider: l.provider, input_tokens: l.input_tokens ?? 0, output_tokens: l.output_tokens ?? 0,
      cache_read_tokens: l.cache_read_tokens, cache_write_tokens: l.cache_write_tokens, cost_usd: l.cost_usd, duration_ms: l.duration_ms,
      transcript_entry_id: l.transcript_entry_id, task_id: l.task_id, instance_id: l.instance_id,
    }, 5);
  }
  // Time order; within one moment, what creates a row before what updates it.
  out.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : (a._order as number) - (b._order as number)));
  for (const e of out) delete e._order;
  return out;
}
