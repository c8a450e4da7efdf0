import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { A001, A002, A003, A004, A005, A006, type A001Row, type A006Row } from "../queries/aggregation.js";
import { L004 } from "../queries/listing.js";
import { U003 } from "../queries/usage.js";
import { costText } from "./ls.js";
import { bar } from "../render/bars.js";
import { fmtInt, fmtMs, fmtPct, fmtTime, fmtUsd, fitLine } from "../render/format.js";
import { printJson } from "../render/output.js";
import { heading } from "../render/heading.js";
import { indent, section } from "../render/sections.js";
import { renderTable } from "../render/table.js";
import type { QueryResult } from "../queries/types.js";
import { keyedJson, withRead, type ReadContext } from "./context.js";
import { limitOption, withCommon, type App, type CommonOpts } from "./common.js";

export interface SummaryOpts extends CommonOpts {
  limit?: number;
}

function glance(a: A001Row, io: IO): string {
  const c = palette(io.color);
  const status = a.status ?? "unknown";
  const writes = (a.cache_write_tokens ?? 0) + (a.cache_write_1h_tokens ?? 0);
  const tokens = a.input_tokens === null ? "no model calls recorded"
    : `${fmtInt(a.input_tokens)} in / ${fmtInt(a.output_tokens)} out` +
      (a.cache_read_tokens ? ` / ${fmtInt(a.cache_read_tokens)} cache read` : "") +
      (writes ? ` / ${fmtInt(writes)} cache write${a.cache_write_1h_tokens ? ` (${fmtInt(a.cache_write_1h_tokens)} 1h)` : ""}` : "") +
      ` · cost ${a.cost_usd === null ? "unknown" : fmtUsd(a.cost_usd)}` +
      (a.model_calls_unpriced && a.cost_usd !== null ? c.warn(` (+ ${a.model_calls_unpriced} calls of unknown price)`) : "");
  // History it carries from another run (a resumed, forked or copied session): shown, not counted.
  const replayed = a.replayed_model_calls || a.replayed_tool_calls || a.replayed_entries
    ? [`  replayed    ${fmtInt(a.replayed_tool_calls)} tool calls, ${fmtInt(a.replayed_entries)} entries and ${fmtInt(a.replayed_model_calls)} model calls` +
       ` (${a.replayed_cost_usd === null ? "cost unknown" : fmtUsd(a.replayed_cost_usd)}) are another run's history, not counted above`]
    : [];
  return [
    // The run, its task list and status are names kept whole: on more lines when they do not share one.
    heading([{ text: a.execution_id, keep: true, style: c.bold }, { text: a.task_list_id ?? "", keep: true },
      { text: status, keep: true, style: status === "failed" ? c.error : status === "completed" ? c.ok : c.warn }], io.columns),
    ...[
    `  time        ${fmtTime(a.started_at)} → ${fmtTime(a.completed_at)}  (${fmtMs(a.duration_ms)})`,
    `  tasks       ${a.tasks}  (${a.tasks_completed} completed, ${a.tasks_failed ? c.error(`${a.tasks_failed} failed`) : "0 failed"})`,
    `  tool calls  ${fmtInt(a.tool_calls)} · errors ${a.errors ? c.error(fmtInt(a.errors)) : "0"} · blocked ${a.blocked ? c.warn(String(a.blocked)) : "0"}`,
    `  assertions  ${fmtInt(a.assertions)} · pass rate ${fmtPct(a.pass_rate)}`,
    `  skills ${a.skills} · agents ${a.agents} · waves ${a.waves}`,
    `  tokens      ${tokens}`,
    ...replayed,
    ].map((l) => fitLine(l, io.columns, 14)),
  ].join("\n");
}

export async function runSummary(exec: string | undefined, opts: SummaryOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, (ctx) => {
    if (!exec) throw new UserError("name an execution", [`recent: ${ctx.executions().slice(0, 3).join(", ")}`]);
    const id = ctx.resolve("execution", exec);
    const args = { execution_id: id };
    const [a1, a2, a3, a4, a5] = [ctx.run(A001, args), ctx.run(A002, args), ctx.run(A003, args), ctx.run(A004, args), ctx.run(A005, args)];
    const models = ctx.run(L004, args);
    const agents = ctx.run(U003, args);
    if (opts.json) {
      printJson(io, keyedJson({ execution_id: id }, [a1, a2, a3, a4, a5, { ...models, id: "models" }, { ...agents, id: "agents" }], opts.limit));
      return EXIT_OK;
    }
    const c = palette(io.color);
    const limit = opts.limit ?? 20;
    const out: string[] = [a1.rows[0] ? glance(a1.rows[0], io) : c.warn(`A001 skipped: ${(a1 as { reason?: string }).reason}`), ""];
    out.push(section(io, c, "Tasks by status", a2, [
      { key: "status", header: "STATUS" }, { key: "count", header: "TASKS", align: "right" },
      { key: "pct", header: "SHARE", align: "right", get: (r) => `${r.pct}%` }, { key: "avg_ms", header: "MEAN TIME", align: "right", get: (r) => fmtMs(r.avg_ms) },
    ], { limit }));
    out.push(section(io, c, "Assertion pass rate by category", a4, [
      { key: "category", header: "CATEGORY", keep: true }, { key: "total", header: "TOTAL", align: "right" }, { key: "passed", header: "PASSED", align: "right" },
      { key: "failed", header: "FAILED", align: "right", color: (t) => (t !== "0" ? c.error(t) : t) }, { key: "skipped", header: "SKIPPED", align: "right" },
      { key: "pass_rate", header: "PASS RATE", align: "right", get: (r) => fmtPct(r.pass_rate) },
    ], { limit }));
    out.push(section(io, c, "Tool durations", a5, [
      { key: "tool", header: "TOOL" }, { key: "calls", header: "CALLS", align: "right" }, { key: "p50_ms", header: "P50", align: "right", get: (r) => fmtMs(r.p50_ms) },
      { key: "p90_ms", header: "P90", align: "right", get: (r) => fmtMs(r.p90_ms) }, { key: "p99_ms", header: "P99", align: "right", get: (r) => fmtMs(r.p99_ms) },
      { key: "max_ms", header: "MAX", align: "right", get: (r) => fmtMs(r.max_ms) },
    ], { limit }));
    if (models.rows.length) {
      // Named by what they are: these are obs's own lookups, not queries `obs query` runs.
      out.push(section(io, c, "Tokens and cost by model", { ...models, id: "" }, [
        { key: "model", header: "MODEL" }, { key: "calls", header: "CALLS", align: "right" },
        { key: "input_tokens", header: "INPUT", align: "right", get: (r) => fmtInt(r.input_tokens) },
        { key: "output_tokens", header: "OUTPUT", align: "right", get: (r) => fmtInt(r.output_tokens) },
        { key: "cache_read_tokens", header: "CACHE READ", align: "right", get: (r) => fmtInt(r.cache_read_tokens), drop: 2 },
        { key: "cache_write_tokens", header: "CACHE WRITE 5M", align: "right", get: (r) => fmtInt(r.cache_write_tokens), drop: 1 },
        { key: "cache_write_1h_tokens", header: "CACHE WRITE 1H", align: "right", get: (r) => fmtInt(r.cache_write_1h_tokens), drop: 3 },
        { key: "cost_usd", header: "COST", align: "right", get: (r) => costText(r.cost_usd, r.unpriced_calls) },
      ], { limit }));
    }
    if (agents.rows.length) {
      // Who spent what: the main agent, each subagent, compaction runs.
      out.push(section(io, c, "Cost by agent", { ...agents, id: "" }, [
        { key: "instance_id", header: "AGENT", keep: true, get: (r) => r.instance_id ?? "(no agent)" },
        { key: "agent_type", header: "TYPE", min: 8, get: (r) => r.agent_type ?? "—" },
        { key: "model_calls", header: "MODEL CALLS", align: "right", get: (r) => fmtInt(r.model_calls), drop: 2 },
        { key: "tool_calls", header: "TOOL CALLS", align: "right", get: (r) => fmtInt(r.tool_calls), drop: 3 },
        { key: "total_tokens", header: "TOKENS", align: "right", get: (r) => fmtInt(r.total_tokens) },
        { key: "cost_usd", header: "COST", align: "right", get: (r) => costText(r.cost_usd, r.unpriced_calls) },
        { key: "cost_share", header: "SHARE", drop: 1, get: (r) => (r.cost_share === null ? "" : `${fmtPct(r.cost_share).padStart(6)} ${bar(r.cost_share, 1, 10)}`) },
      ], { limit }));
    }
    // Activity by hour as a small bar chart.
    out.push(`${c.bold("Activity by hour (UTC)")} ${c.dim("(A003)")}`);
    const peak = Math.max(1, ...a3.rows.map((r) => r.entries));
    out.push(indent(renderTable(a3.rows, [
      { key: "hour", header: "HOUR", keep: true, get: (r) => r.hour.replace("T", " ").replace("Z", "") },
      { key: "bar", header: "ENTRIES", get: (r) => bar(r.entries, peak, 24).trimEnd() + " " + fmtInt(r.entries) },
      { key: "tool_calls", header: "TOOL CALLS", align: "right" },
      { key: "errors", header: "ERRORS", align: "right", color: (t) => (t !== "0" ? c.error(t) : t) },
    ], { ...io, columns: io.columns - 2 }), 2));
    io.out(out.join("\n") + "\n");
    return EXIT_OK;
  });
}

/** What changed from one run to the next, in words a person scans. */
function changes(prev: A006Row, next: A006Row, c: ReturnType<typeof palette>): string {
  const parts: string[] = [];
  const delta = (label: string, a: number | null, b: number | null, fmt: (n: number) => string, worseWhenUp: boolean) => {
    if (a === null || b === null || a === b) return;
    const d = b - a;
    const s = `${label} ${d > 0 ? "+" : "−"}${fmt(Math.abs(d))}`;
    parts.push((d > 0) === worseWhenUp ? c.error(s) : c.ok(s));
  };
  delta("duration", prev.duration_ms, next.duration_ms, fmtMs, true);
  delta("failed tasks", prev.tasks_failed, next.tasks_failed, String, true);
  delta("errors", prev.errors, next.errors, String, true);
  delta("pass rate", prev.pass_rate, next.pass_rate, (n) => `${(n * 100).toFixed(1)} pts`, false);
  delta("tool calls", prev.tool_calls, next.tool_calls, String, true);
  delta("cost", prev.cost_usd, next.cost_usd, fmtUsd, true);
  return `  ${prev.execution_id} → ${next.execution_id}: ${parts.length ? parts.join(", ") : c.dim("no change")}`;
}

/**
 * `obs compare [TASK_LIST]`: the runs of one task list (or of each), oldest first; `obs compare
 * EXEC EXEC…`: those executions side by side, in the order given, whatever their task lists.
 */
export async function runCompare(args: string[], opts: SummaryOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, (ctx) => {
    if (args.length > 1) return compareExecutions(ctx, args.map((a) => ctx.resolve("execution", a)), opts, io);
    const tl = args[0] ? ctx.resolve("task_list", args[0]) : null;
    const r = ctx.run(A006, { task_list_id: tl });
    if (opts.json) {
      printJson(io, keyedJson({ task_list_id: tl }, [r]));
      return EXIT_OK;
    }
    const groups = new Map<string, A006Row[]>();
    for (const row of r.rows) groups.set(row.task_list_id ?? "(no task list)", [...(groups.get(row.task_list_id ?? "(no task list)") ?? []), row]);
    return printComparison(r, [...groups].map(([name, rows]) => ({ title: `Runs of ${name}`, note: `oldest first`, rows })), io);
  });
}

function compareExecutions(ctx: ReadContext, ids: string[], opts: SummaryOpts, io: IO): number {
  const r = ctx.run(A006, { task_list_id: null });
  const byId = new Map(r.rows.map((row) => [row.execution_id, row]));
  const rows = ids.map((id) => byId.get(id)).filter((x): x is A006Row => x !== undefined);
  if (opts.json) {
    printJson(io, { execution_ids: ids, A006: rows, ...(r.skipped ? { skipped: { A006: r.reason } } : {}) });
    return EXIT_OK;
  }
  return printComparison(r, [{ title: `Runs ${ids.join(", ")}`, note: "as given", rows }], io);
}

function printComparison(r: QueryResult<A006Row>, groups: { title: string; note: string; rows: A006Row[] }[], io: IO): number {
  const c = palette(io.color);
  if (r.skipped) io.out(c.warn(`A006 skipped: ${r.reason}`) + "\n");
  else if (!groups.length) io.out("no executions to compare\n");
  const out: string[] = [];
  for (const { title, note, rows } of groups) {
    out.push(`${c.bold(title)} ${c.dim(`(A006, ${rows.length} run${rows.length === 1 ? "" : "s"}, ${note})`)}`);
    out.push(renderTable(rows, [
      { key: "execution_id", header: "EXECUTION", keep: true }, { key: "status", header: "STATUS", drop: 3 },
      { key: "started_at", header: "STARTED", keep: true, get: (x) => fmtTime(x.started_at) }, { key: "duration_ms", header: "DURATION", align: "right", get: (x) => fmtMs(x.duration_ms) },
      { key: "tasks_completed", header: "DONE", align: "right" }, { key: "tasks_failed", header: "FAILED", align: "right" },
      { key: "errors", header: "ERRORS", align: "right" }, { key: "pass_rate", header: "PASS RATE", align: "right", get: (x) => fmtPct(x.pass_rate) },
      { key: "tool_calls", header: "TOOL CALLS", align: "right", drop: 2 }, { key: "cost_usd", header: "COST", align: "right", get: (x) => fmtUsd(x.cost_usd), drop: 1 },
    ], io));
    if (rows.length > 1) {
      out.push(c.bold("Changes"));
      // Broken between its changes to fit, the rest under the first change.
      for (let i = 1; i < rows.length; i++) out.push(fitLine(changes(rows[i - 1]!, rows[i]!, c), io.columns, 4));
    }
    out.push("");
  }
  io.out(out.join("\n"));
  return EXIT_OK;
}

export function registerSummary(program: Command, app: App): void {
  withCommon(
    program
      .command("summary")
      .summary("a run at a glance (A001–A005), tokens and cost by model and by agent")
      .description("An execution at a glance (A001), tasks by status (A002), pass rate per assertion category (A004),\nduration percentiles per tool (A005), tokens and cost by model and by agent, and activity by hour (A003).")
      .argument("[exec]", "execution id (a unique prefix will do)")
      .addOption(limitOption(20)),
  )
    .addHelpText("after", "\nExamples:\n  obs summary exec-103\n  obs summary exec-103 --json | jq '.A001[0].cost_usd'")
    .action(async (exec: string | undefined, o: SummaryOpts) => {
      app.code = await runSummary(exec, o, app.io);
    });
  withCommon(
    program
      .command("compare")
      .summary("runs side by side, with what changed (A006): a task list's, or executions named")
      .description("Executions of one task list side by side, oldest first, and what changed from each run to the next (A006). Without a task list, every task list's runs. With two or more executions, those, in the order given.")
      .argument("[ids...]", "a task list id, or two or more execution ids (a unique prefix will do)"),
  )
    .addHelpText("after", "\nExamples:\n  obs compare\n  obs compare tl-auth-service --json\n  obs compare exec-102 exec-103")
    .action(async (ids: string[], o: SummaryOpts) => {
      app.code = await runCompare(ids, o, app.io);
    });
}
