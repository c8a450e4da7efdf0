import type { IO, Palette } from "../io.js";
import type { I001Row } from "../queries/investigation.js";
import type { ExecutionTaskRow } from "../queries/listing.js";
import { bar } from "./bars.js";
import { fmtMs } from "./format.js";
import { renderTable, type Column } from "./table.js";

/** A status word coloured by what it means. */
export function statusColor(c: Palette, status: string | null): (s: string) => string {
  switch (status) {
    case "error": case "fail": case "failed": case "blocked": return c.error;
    case "running": case "partial": case "warn": case "skip": return c.warn;
    case "done": case "pass": case "success": case "completed": return c.ok;
    default: return (s) => s;
  }
}

/** How many cells the duration bar gets: none where the width is better spent on words. */
function barWidth(columns: number): number {
  return columns >= 110 ? 10 : columns >= 90 ? 5 : 0;
}

/**
 * A trace viewer's format_timeline: time, offset from the start, (agent, task), type, summary,
 * duration (as a bar to the scale of the longest step where there is room) and status. On a
 * narrow terminal the task, agent and offset columns go first, then words are cut; times,
 * durations and ids never are.
 */
export function renderTimeline(rows: I001Row[], io: IO, c: Palette, o: { agent?: boolean; task?: boolean } = {}): string {
  if (rows.length === 0) return c.dim("(no entries)");
  const start = Date.parse(rows[0]!.timestamp);
  const longest = rows.reduce((m, r) => Math.max(m, r.duration_ms ?? 0), 1);
  const BAR = barWidth(io.columns);
  const columns: Column<I001Row>[] = [
    { key: "timestamp", header: "TIME (UTC)", keep: true, get: (r) => r.timestamp.slice(11, 23) },
    { key: "offset", header: "+OFFSET", align: "right", drop: 2, get: (r) => "+" + fmtMs(Date.parse(r.timestamp) - start) },
    ...(o.agent === false ? [] : [{ key: "instance_id", header: "AGENT", keep: true, drop: 3, get: (r: I001Row) => r.instance_id ?? "" }]),
    ...(o.task ? [{ key: "task_id", header: "TASK", keep: true, drop: 4, get: (r: I001Row) => r.task_id ?? "" }] : []),
    // A type is a word of the record's vocabulary (skill_complete), whole like an id.
    { key: "entry_type", header: "TYPE", keep: true, color: (t) => c.dim(t) },
    // Where the row leaves a summary too little room, it goes on its own line beneath the row.
    { key: "summary", header: "SUMMARY", min: 16, under: true },
    {
      key: "duration_ms", header: "DURATION", align: "right",
      get: (r) => (r.duration_ms === null ? "" : BAR ? `${bar(r.duration_ms, longest, BAR)} ${fmtMs(r.duration_ms).padStart(7)}` : fmtMs(r.duration_ms)),
    },
    { key: "status", header: "STATUS", min: 7, color: (t, r) => (r.replay_of ? c.dim(t) : statusColor(c, r.status)(t)), get: (r) => (r.replay_of ? `${r.status ?? ""} (replayed)`.trim() : (r.status ?? "")) },
  ];
  return renderTable(rows, columns, io);
}

/** One task's steps in a run traced by agent. */
export interface TaskSteps {
  task: ExecutionTaskRow;
  steps: I001Row[];
}

/** One agent's share of a run: the tasks it worked and its steps outside any task. `instance_id` null: the steps no agent made. */
export interface AgentSteps {
  instance_id: string | null;
  tasks: TaskSteps[];
  steps: I001Row[];
}

/**
 * A run's steps by agent: each task under the agent that made most of its steps (with all of
 * its steps, whoever made them), each agent's other steps apart, and the steps and tasks of no
 * agent last. Every step is in exactly one place; agents come in the order they started. Tasks
 * without steps are listed too, unless `emptyTasks` is false (a filter emptied them).
 */
export function groupByAgent(steps: I001Row[], tasks: ExecutionTaskRow[], o: { emptyTasks?: boolean } = {}): AgentSteps[] {
  const taskRow = new Map(tasks.map((t) => [t.task_id, t]));
  const groups = new Map<string | null, AgentSteps>();
  const group = (id: string | null): AgentSteps => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { instance_id: id, tasks: [], steps: [] }));
    return g;
  };
  const byTask = new Map<string, TaskSteps>();
  const taskOf = (id: string): TaskSteps => {
    let ts = byTask.get(id);
    if (!ts) {
      const task = taskRow.get(id) ?? unlisted(id);
      byTask.set(id, (ts = { task, steps: [] }));
      group(task.instance_id).tasks.push(ts);
    }
    return ts;
  };
  for (const s of steps) {
    if (s.task_id !== null) taskOf(s.task_id).steps.push(s);
    else group(s.instance_id).steps.push(s);
  }
  if (o.emptyTasks !== false) for (const t of tasks) taskOf(t.task_id);
  const none = groups.get(null);
  groups.delete(null);
  return [...groups.values(), ...(none ? [none] : [])];
}

function unlisted(id: string): ExecutionTaskRow {
  return { task_id: id, display_id: null, title: null, status: null, started_at: null, completed_at: null, duration_ms: null, instance_id: null, step_count: 0, first_at: null, spawned_by_entry_id: null, replay_of: null };
}
