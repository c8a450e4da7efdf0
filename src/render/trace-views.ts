import type { IO, Palette } from "../io.js";
import type { I001Row } from "../queries/investigation.js";
import type { ExecutionInfoRow, TaskInfoRow } from "../queries/listing.js";
import { describeFilter, filtering, type StepFilter } from "./filter.js";
import { fitWords, fmtMs, fmtTime } from "./format.js";
import { heading, type Part } from "./heading.js";
import { renderTimeline, statusColor, type AgentSteps } from "./timeline.js";

/**
 * The trace views as text: a whole run as one timeline or agent by agent, and one task's
 * timeline, each under a heading that fits the terminal, with what a filter or a limit left out
 * said in words.
 */

/** A run's or task's status and time, as heading parts. */
function statusParts(c: Palette, status: string | null, started: string | null, duration: number | null): Part[] {
  return [
    { text: status ?? "", keep: true, style: statusColor(c, status) },
    { text: [started ? fmtTime(started) : "", duration !== null ? fmtMs(duration) : ""].filter(Boolean).join(" · "), keep: true, style: c.dim },
  ];
}

export function filterNote(c: Palette, f: StepFilter, shown: number, of: number): string {
  return c.dim(`${shown} of ${of} ${of === 1 ? "step" : "steps"}: ${describeFilter(f)}`);
}

function more(c: Palette, hidden: number, hint: string, width: number): string {
  // Broken at spaces to fit: the hint's command names a task whole.
  return fitWords(`  … ${hidden} more ${hidden === 1 ? "step" : "steps"} (${hint})`, width, 4).split("\n").map(c.dim).join("\n");
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** A run without agents: every step (that passed the filter) in time order, `limit` of them. */
export function renderRunTimeline(info: ExecutionInfoRow, steps: I001Row[], total: number, f: StepFilter, limit: number, io: IO, c: Palette): string {
  const shown = steps.slice(0, limit);
  const out = [
    heading([{ text: `Run ${info.execution_id}`, keep: true, style: c.bold }, ...statusParts(c, info.status, info.started_at, info.duration_ms),
      { text: plural(total, "step"), keep: true, style: c.dim }, { text: info.message ?? "", style: c.dim }], io.columns),
  ];
  if (filtering(f)) out.push(filterNote(c, f, steps.length, total));
  if (steps.length) out.push(renderTimeline(shown, io, c, { agent: false, task: shown.some((s) => s.task_id !== null) }));
  else if (!filtering(f)) out.push(c.dim("(no entries)"));
  if (steps.length > shown.length) out.push(more(c, steps.length - shown.length, `--limit ${steps.length} shows them all`, io.columns));
  return out.join("\n");
}

/** A run agent by agent: each agent's tasks (`limit` steps of each) and its steps outside any task. */
export function renderRunByAgent(info: ExecutionInfoRow, groups: AgentSteps[], shownSteps: number, total: number, f: StepFilter, limit: number, io: IO, c: Palette): string {
  const agents = `(${plural(info.agent_count, "agent")})`;
  const out = [
    // The run's id and "by agent (n agents)" may go on two lines: an id alone is what may be wider than the terminal.
    heading([{ text: `Run ${info.execution_id}`, keep: true, style: c.bold }, { text: `by agent ${agents}`, keep: true, sep: " ", style: () => c.bold("by agent") + c.dim(` ${agents}`) },
      ...statusParts(c, info.status, info.started_at, info.duration_ms), { text: info.message ?? "", style: c.dim }], io.columns),
  ];
  if (filtering(f)) out.push(filterNote(c, f, shownSteps, total));
  for (const g of groups) {
    const agent: Part = { text: g.instance_id ?? "(no agent)", keep: true, style: g.instance_id ? c.id : c.dim };
    for (const t of g.tasks) {
      const shown = t.steps.slice(0, limit);
      out.push("", heading([agent, { text: t.task.task_id, keep: true, style: c.bold }, { text: t.task.title ?? "" }, ...statusParts(c, t.task.status, null, t.task.duration_ms)], io.columns));
      if (t.steps.length) out.push(renderTimeline(shown, io, c, { agent: new Set(t.steps.map((s) => s.instance_id)).size > 1 }));
      else out.push(c.dim("  (no steps)"));
      if (t.steps.length > shown.length) out.push(more(c, t.steps.length - shown.length, `obs trace ${t.task.task_id}`, io.columns));
    }
    if (g.steps.length) {
      const shown = g.steps.slice(0, limit);
      out.push("", heading([agent, { text: "outside any task", style: c.dim }, { text: plural(g.steps.length, "step"), keep: true, style: c.dim }], io.columns));
      out.push(renderTimeline(shown, io, c, { agent: false }));
      if (g.steps.length > shown.length) out.push(more(c, g.steps.length - shown.length, `--limit ${g.steps.length} shows them all`, io.columns));
    }
  }
  return out.join("\n");
}

/** One task's timeline: its steps (that passed the filter), `limit` of them when given. */
export function renderTaskTrace(info: TaskInfoRow, rows: I001Row[], total: number, f: StepFilter, limit: number | undefined, io: IO, c: Palette): string {
  const out = [
    heading([
      { text: `Trace of ${info.task_id}`, keep: true, style: c.bold }, { text: info.title ?? "" }, { text: info.status ?? "", keep: true, style: statusColor(c, info.status) },
      { text: info.instance_id ?? "", keep: true, style: c.dim }, { text: info.execution_id ?? "", keep: true, style: c.dim },
      { text: `${fmtTime(info.started_at)} · ${fmtMs(info.duration_ms)}`, keep: true, style: c.dim },
    ], io.columns),
  ];
  const shown = limit ? rows.slice(0, limit) : rows;
  if (filtering(f)) out.push(filterNote(c, f, rows.length, total));
  if (rows.length || !filtering(f)) out.push(renderTimeline(shown, io, c, { agent: new Set(rows.map((r) => r.instance_id)).size > 1 }));
  if (rows.length > shown.length) out.push(c.dim(`… ${plural(rows.length - shown.length, "more step")}`));
  return out.join("\n");
}
