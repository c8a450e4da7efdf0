import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO, type Palette } from "../io.js";
import { I001, I002, I003, I004, I005, I006, I007 } from "../queries/investigation.js";
import { L002, L005, L006, L007, type ExecutionInfoRow, type TaskInfoRow } from "../queries/listing.js";
import type { Query } from "../queries/types.js";
import { describeFilter, filtering, passes, type StepFilter } from "../render/filter.js";
import { fmtMs, fmtPct, fmtTime } from "../render/format.js";
import { printJson, printRows } from "../render/output.js";
import type { Column } from "../render/table.js";
import { groupByAgent, statusColor } from "../render/timeline.js";
import { renderRunByAgent, renderRunTimeline, renderTaskTrace } from "../render/trace-views.js";
import { buildExecutionTree, buildTaskTree, filterTree, renderTree, treeDepth, type TreeNode } from "../render/tree.js";
import { parseDuration, withRead, type ReadContext } from "./context.js";
import { limitOption, Option, withCommon, type App, type CommonOpts } from "./common.js";

export interface TraceOpts extends CommonOpts {
  tree?: boolean;
  exec?: string;
  type?: string[];
  errors?: boolean;
  minDuration?: number;
  tools?: boolean;
  skills?: boolean;
  files?: boolean;
  decisions?: boolean;
  evidence?: boolean;
  correlation?: string;
  limit?: number;
}

type R = Record<string, unknown>;
const time = (k: string, header = "TIME"): Column<R> => ({ key: k, header, keep: true, get: (r) => fmtTime(r[k] as string) });
const ms = (k: string, header: string): Column<R> => ({ key: k, header, align: "right", get: (r) => fmtMs(r[k] as number) });

/**
 * The execution-wide investigation views: which query, and how its rows read as a table. Tools,
 * skills, files and categories are names, whole like ids; prose that the row has no room for
 * goes on lines beneath it.
 */
const VIEWS: Record<"tools" | "skills" | "files" | "decisions" | "evidence", { q: Query<never>; columns: Column<R>[] }> = {
  tools: {
    q: I002 as Query<never>,
    columns: [{ key: "tool", header: "TOOL", keep: true }, { key: "calls", header: "CALLS", align: "right" }, { key: "errors", header: "ERRORS", align: "right" },
      { key: "blocked", header: "BLOCKED", align: "right" }, { key: "error_rate", header: "ERROR RATE", align: "right", get: (r) => fmtPct(r.error_rate as number) },
      ms("avg_ms", "MEAN"), ms("min_ms", "MIN"), ms("max_ms", "MAX")],
  },
  skills: {
    q: I003 as Query<never>,
    columns: [{ key: "skill_name", header: "SKILL", keep: true }, { key: "invocations", header: "RUNS", align: "right" }, { key: "success", header: "OK", align: "right" },
      { key: "partial", header: "PARTIAL", align: "right" }, { key: "failed", header: "FAILED", align: "right" }, ms("avg_ms", "MEAN"),
      { key: "avg_tool_calls", header: "TOOL CALLS", align: "right" }],
  },
  files: {
    q: I004 as Query<never>,
    columns: [{ key: "file_path", header: "FILE", keep: true }, { key: "reads", header: "READS", align: "right" }, { key: "writes", header: "WRITES", align: "right" },
      { key: "edits", header: "EDITS", align: "right" }, { key: "tasks", header: "TASKS", align: "right" }, { key: "agents", header: "AGENTS", align: "right" },
      time("last_access", "LAST ACCESS")],
  },
  decisions: {
    q: I006 as Query<never>,
    columns: [{ key: "sequence", header: "SEQ", align: "right" }, { key: "task_id", header: "TASK", keep: true }, { key: "chosen", header: "CHOSE", wrap: true, min: 12 },
      { key: "options", header: "OVER", get: (r) => (Array.isArray(r.options) ? (r.options as unknown[]).filter((x) => x !== r.chosen).join(" | ") : String(r.options ?? "")), min: 16, under: true },
      { key: "reason", header: "BECAUSE", min: 16, under: true }],
  },
  evidence: {
    q: I007 as Query<never>,
    columns: [{ key: "result", header: "RESULT", keep: true }, { key: "task_id", header: "TASK", keep: true }, { key: "category", header: "CATEGORY", keep: true },
      { key: "command", header: "COMMAND", min: 16, under: true }, { key: "exit_code", header: "EXIT", align: "right" }, { key: "stderr", header: "STDERR", min: 16, under: true },
      { key: "file_path", header: "FILE", keep: true, drop: 1 }],
  },
};

/** Steps shown per task when a whole run is traced by agent, unless --limit says otherwise. */
const PER_TASK = 12;
/** Steps shown of a whole run's timeline, unless --limit says otherwise. */
const PER_RUN = 50;

/** Past this many levels a tree's JSON is printed unindented: indentation would grow with the square of its depth. */
const DEEP = 200;

/** The rows a query needs, or a message naming what the database lacks. */
function rowsOf<Row>(ctx: ReadContext, q: Query<Row>, args: Record<string, string | null>): Row[] {
  const r = ctx.run(q, args);
  if (r.skipped) throw new UserError(`cannot trace this database: ${r.reason}`, ["it holds no record obs can trace (a table of steps is missing)"]);
  return r.rows;
}

function printTree(io: IO, c: Palette, full: TreeNode, f: StepFilter, head: Record<string, unknown>, opts: TraceOpts): void {
  const { tree, matched } = filtering(f) ? filterTree(full, f) : { tree: full, matched: null };
  if (opts.json) return printJson(io, { ...head, view: "tree", ...(filtering(f) ? { filter: describeFilter(f), matched } : {}), tree }, { deep: treeDepth(tree) > DEEP });
  const out = [renderTree(tree, c, io.columns, { limit: opts.limit, marks: matched !== null })];
  if (matched !== null) out.unshift(c.dim(`${matched} ${matched === 1 ? "node" : "nodes"} (▶): ${describeFilter(f)}, under the nodes above them`));
  io.out(out.join("\n") + "\n");
}

/** A whole run: its tree, its steps agent by agent, or (without agents) one timeline of everything. */
function traceExecution(ctx: ReadContext, io: IO, id: string, f: StepFilter, opts: TraceOpts): number {
  const c = palette(io.color);
  const info: ExecutionInfoRow = ctx.run(L005, { execution_id: id }).rows[0]!;
  const all = rowsOf(ctx, L006, { execution_id: id });
  const tasks = ctx.run(L007, { execution_id: id }).rows;
  if (opts.tree) {
    printTree(io, c, buildExecutionTree(info, all, tasks), f, info as unknown as R, opts);
    return EXIT_OK;
  }
  const steps = filtering(f) ? all.filter((s) => passes(s, f)) : all;
  const cap = <T>(xs: T[], n: number | undefined): T[] => (n ? xs.slice(0, n) : xs);
  const filterJson = filtering(f) ? { filter: describeFilter(f) } : {};

  if (info.agent_count === 0) {
    if (opts.json) return printJson(io, { ...info, view: "timeline", ...filterJson, steps: cap(steps, opts.limit) }), EXIT_OK;
    io.out(renderRunTimeline(info, steps, all.length, f, opts.limit ?? PER_RUN, io, c) + "\n");
    return EXIT_OK;
  }
  // Agent by agent; a filter leaves out the tasks and agents it empties.
  const groups = groupByAgent(steps, tasks, { emptyTasks: !filtering(f) });
  if (opts.json) {
    return printJson(io, {
      ...info, view: "agents", ...filterJson,
      agents: groups.map((g) => ({ instance_id: g.instance_id, tasks: g.tasks.map((t) => ({ ...t.task, steps: cap(t.steps, opts.limit) })), steps: cap(g.steps, opts.limit) })),
    }), EXIT_OK;
  }
  io.out(renderRunByAgent(info, groups, steps.length, all.length, f, opts.limit ?? PER_TASK, io, c) + "\n");
  return EXIT_OK;
}

/** One task: its timeline (I001), or its tree. */
function traceTask(ctx: ReadContext, io: IO, taskId: string, f: StepFilter, opts: TraceOpts): number {
  const c = palette(io.color);
  const all = rowsOf(ctx, I001, { task_id: taskId });
  // A database without a tasks table still names its tasks on its steps.
  const info: TaskInfoRow = ctx.run(L002, { task_id: taskId }).rows[0] ?? {
    task_id: taskId, execution_id: all[0]?.execution_id ?? null, display_id: null, title: null, status: null, started_at: all[0]?.timestamp ?? null,
    completed_at: null, duration_ms: null, instance_id: all.find((r) => r.instance_id !== null)?.instance_id ?? null,
  };
  if (opts.tree) {
    printTree(io, c, buildTaskTree(info, all), f, { task_id: taskId, execution_id: info.execution_id }, opts);
    return EXIT_OK;
  }
  const rows = filtering(f) ? all.filter((r) => passes(r, f)) : all;
  if (opts.json) return printJson(io, opts.limit ? rows.slice(0, opts.limit) : rows), EXIT_OK;
  io.out(renderTaskTrace(info, rows, all.length, f, opts.limit, io, c) + "\n");
  return EXIT_OK;
}

export async function runTrace(target: string | undefined, opts: TraceOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, (ctx) => {
    const c = palette(io.color);
    const views = (Object.keys(VIEWS) as (keyof typeof VIEWS)[]).filter((k) => opts[k]);
    if (views.length + (opts.correlation ? 1 : 0) > 1) throw new UserError("choose one of --tools, --skills, --files, --decisions, --evidence, --correlation");
    const f: StepFilter = { types: opts.type, errors: opts.errors, minMs: opts.minDuration };
    if (filtering(f) && (views.length || opts.correlation)) {
      throw new UserError(`--type, --errors and --min-duration narrow a timeline or tree, not --${views[0] ?? "correlation"}`);
    }

    if (opts.correlation) {
      const cid = ctx.resolve("correlation", opts.correlation);
      const r = ctx.run(I005, { correlation_id: cid });
      if (opts.json) return printJson(io, r.rows), EXIT_OK;
      io.out(c.bold(`Events correlated by ${cid}`) + "\n");
      printRows(io, r.rows.slice(0, opts.limit ?? 50) as unknown as R[], [time("timestamp"), { key: "severity", header: "SEVERITY", color: (t) => statusColor(c, t === "error" || t === "critical" ? "error" : t === "warning" ? "warn" : null)(t) },
        // The source (an agent's id) and the event's type are names, whole; a summary without room goes beneath its row.
        { key: "source", header: "SOURCE", keep: true }, { key: "event_type", header: "EVENT", keep: true }, { key: "human_summary", header: "SUMMARY", min: 16, under: true },
        { key: "execution_id", header: "EXECUTION", keep: true, drop: 1 }], "table", "no events");
      return EXIT_OK;
    }

    if (views.length === 1) {
      const given = opts.exec ?? target;
      if (!given) throw new UserError(`--${views[0]} needs an execution: obs trace EXEC --${views[0]}`);
      const id = ctx.resolve("execution", given);
      const v = VIEWS[views[0]!];
      const r = ctx.run(v.q, { execution_id: id });
      if (opts.json) return printJson(io, opts.limit ? (r.rows as R[]).slice(0, opts.limit) : r.rows), EXIT_OK;
      io.out(`${c.bold(`${v.q.title} in ${id}`)} ${c.dim(`(${v.q.id})`)}\n`);
      if (r.skipped) io.out(c.warn(`skipped: ${r.reason}`) + "\n");
      else printRows(io, (r.rows as R[]).slice(0, opts.limit ?? 50), v.columns, "table", "none");
      return EXIT_OK;
    }

    if (opts.exec) {
      if (target) throw new UserError(`trace either a task or a run: obs trace ${target}, or obs trace --exec ${opts.exec}`);
      return traceExecution(ctx, io, ctx.resolve("execution", opts.exec), f, opts);
    }
    if (!target) throw new UserError("name a task to trace (or --exec EXEC for a whole run)");
    // A task, else a run (one without tasks, a trace store's session, is traced whole): an exact
    // id of either wins over a prefix, so a run's full id traces the run, not the one task it starts.
    const hit = ctx.resolveAmong(["task", "execution"], target);
    return hit.kind === "task" ? traceTask(ctx, io, hit.id, f, opts) : traceExecution(ctx, io, hit.id, f, opts);
  });
}

/** --type takes a list (tool_use,error) and may be given more than once. */
const typeList = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), ...v.split(",").map((t) => t.trim()).filter(Boolean)];

export function registerTrace(program: Command, app: App): void {
  withCommon(
    program
      .command("trace")
      .summary("a task's or a whole run's path as a timeline or tree; investigation views (I001–I007)")
      .description(
        "Trace a task (I001) as a timeline: time, offset, agent, type, summary, duration to scale, status. " +
          "With --tree, its steps nested under their parents (a trace's parent trace, a tool call's parent call, " +
          "a subagent under its Task call, a span's parent), their skills and tasks.\n\n" +
          "--exec EXEC traces a whole run: agent by agent where it has agents, else one timeline of every step " +
          "in time order (so is a run named without --exec: an exact id of a task or a run wins over a prefix). --type, --errors and " +
          "--min-duration narrow a timeline or tree; a tree keeps the nodes above what passes.\n\n" +
          "With an execution: --tools (I002), --skills (I003), --files (I004), --decisions (I006), " +
          "--evidence (I007); --correlation ID (I005) follows one correlation id across the bus.",
      )
      .argument("[id]", "a task (or a run, or with --tools … an execution); a unique prefix will do")
      .option("--tree", "nest each step under its parent step, skill and task")
      .option("--exec <exec>", "the whole run: by agent, or one timeline when it has no agents")
      .addOption(new Option("--type <types>", "only steps of these types: entry types (tool_use, error), a producer's own (model_selected, task_failed) or tool names; comma-separated, repeatable").argParser(typeList))
      .option("--errors", "only what went wrong: errors, failed tool calls, skills, assertions and tasks")
      .addOption(new Option("--min-duration <duration>", "only steps that took at least this long (500ms, 1s, 2m)").argParser(parseDuration("--min-duration")))
      .option("--tools", "per tool: calls, errors, durations (I002)")
      .option("--skills", "per skill: invocations and outcomes (I003)")
      .option("--files", "per file: reads, writes, edits, tasks, agents (I004)")
      .option("--decisions", "decision points with options, choice and reason (I006)")
      .option("--evidence", "assertion results with their evidence, failures first (I007)")
      .option("--correlation <id>", "bus events sharing a correlation id (I005)")
      .addOption(limitOption(50)),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  obs trace task-103-13\n  obs trace task-103-13 --tree\n  obs trace --exec exec-103 --tree --errors\n  obs trace --exec exec-103 --min-duration 1s\n" +
        "  obs trace --exec exec-103 --type tool_use,error --limit 5\n  obs trace exec-103 --tools\n  obs trace --correlation corr-task-103-13",
    )
    .action(async (target: string | undefined, o: TraceOpts) => {
      app.code = await runTrace(target, o, app.io);
    });
}
