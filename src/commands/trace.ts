import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { I001, I002, I003, I004, I005, I006, I007, type I001Row } from "../queries/investigation.js";
import { L002, L003 } from "../queries/listing.js";
import type { Query } from "../queries/types.js";
import { fmtMs, fmtPct, fmtTime } from "../render/format.js";
import { printJson, printRows } from "../render/output.js";
import type { Column } from "../render/table.js";
import { renderTimeline, statusColor } from "../render/timeline.js";
import { buildTree, renderTree } from "../render/tree.js";
import { withRead, type ReadContext } from "./context.js";
import { limitOption, withCommon, type App, type CommonOpts } from "./common.js";

export interface TraceOpts extends CommonOpts {
  tree?: boolean;
  exec?: string;
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

/** The execution-wide investigation views: which query, and how its rows read as a table. */
const VIEWS: Record<"tools" | "skills" | "files" | "decisions" | "evidence", { q: Query<never>; columns: Column<R>[] }> = {
  tools: {
    q: I002 as Query<never>,
    columns: [{ key: "tool", header: "TOOL" }, { key: "calls", header: "CALLS", align: "right" }, { key: "errors", header: "ERRORS", align: "right" },
      { key: "blocked", header: "BLOCKED", align: "right" }, { key: "error_rate", header: "ERROR RATE", align: "right", get: (r) => fmtPct(r.error_rate as number) },
      ms("avg_ms", "MEAN"), ms("min_ms", "MIN"), ms("max_ms", "MAX")],
  },
  skills: {
    q: I003 as Query<never>,
    columns: [{ key: "skill_name", header: "SKILL" }, { key: "invocations", header: "RUNS", align: "right" }, { key: "success", header: "OK", align: "right" },
      { key: "partial", header: "PARTIAL", align: "right" }, { key: "failed", header: "FAILED", align: "right" }, ms("avg_ms", "MEAN"),
      { key: "avg_tool_calls", header: "TOOL CALLS", align: "right" }],
  },
  files: {
    q: I004 as Query<never>,
    columns: [{ key: "file_path", header: "FILE" }, { key: "reads", header: "READS", align: "right" }, { key: "writes", header: "WRITES", align: "right" },
      { key: "edits", header: "EDITS", align: "right" }, { key: "tasks", header: "TASKS", align: "right" }, { key: "agents", header: "AGENTS", align: "right" },
      time("last_access", "LAST ACCESS")],
  },
  decisions: {
    q: I006 as Query<never>,
    columns: [{ key: "sequence", header: "SEQ", align: "right" }, { key: "task_id", header: "TASK", keep: true, drop: 2 }, { key: "chosen", header: "CHOSE" },
      { key: "options", header: "OVER", get: (r) => (Array.isArray(r.options) ? (r.options as unknown[]).filter((x) => x !== r.chosen).join(" | ") : String(r.options ?? "")), drop: 1 },
      { key: "reason", header: "BECAUSE" }],
  },
  evidence: {
    q: I007 as Query<never>,
    columns: [{ key: "result", header: "RESULT" }, { key: "task_id", header: "TASK", keep: true }, { key: "category", header: "CATEGORY" },
      { key: "command", header: "COMMAND" }, { key: "exit_code", header: "EXIT", align: "right" }, { key: "stderr", header: "STDERR" },
      { key: "file_path", header: "FILE", drop: 1 }],
  },
};

function taskTrace(ctx: ReadContext, taskId: string) {
  const info = ctx.run(L002, { task_id: taskId }).rows[0]!;
  const rows = ctx.run(I001, { task_id: taskId }).rows;
  return { info, rows };
}

export async function runTrace(target: string | undefined, opts: TraceOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, (ctx) => {
    const c = palette(io.color);
    const views = (Object.keys(VIEWS) as (keyof typeof VIEWS)[]).filter((k) => opts[k]);
    if (views.length + (opts.correlation ? 1 : 0) > 1) throw new UserError("choose one of --tools, --skills, --files, --decisions, --evidence, --correlation");

    if (opts.correlation) {
      const cid = ctx.resolve("correlation", opts.correlation);
      const r = ctx.run(I005, { correlation_id: cid });
      if (opts.json) return printJson(io, r.rows), EXIT_OK;
      io.out(c.bold(`Events correlated by ${cid}`) + "\n");
      printRows(io, r.rows.slice(0, opts.limit ?? 50) as unknown as R[], [time("timestamp"), { key: "severity", header: "SEVERITY", color: (t) => statusColor(c, t === "error" || t === "critical" ? "error" : t === "warning" ? "warn" : null)(t) },
        { key: "source", header: "SOURCE" }, { key: "event_type", header: "EVENT" }, { key: "human_summary", header: "SUMMARY" }, { key: "execution_id", header: "EXECUTION", keep: true, drop: 1 }], "table", "no events");
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
      // The whole run, agent by agent, each with the timeline of the tasks it worked.
      const id = ctx.resolve("execution", opts.exec);
      const pairs = ctx.run(L003, { execution_id: id }).rows;
      const byAgent = new Map<string, string[]>();
      for (const p of pairs) byAgent.set(p.instance_id, [...(byAgent.get(p.instance_id) ?? []), p.task_id]);
      if (opts.json) {
        printJson(io, { execution_id: id, agents: [...byAgent].map(([agent, tasks]) => ({ instance_id: agent, tasks: tasks.map((t) => ({ task_id: t, I001: ctx.run(I001, { task_id: t }).rows })) })) });
        return EXIT_OK;
      }
      const out: string[] = [c.bold(`Run ${id} by agent`) + c.dim(` (${byAgent.size} agents)`)];
      for (const [agent, tasks] of byAgent) {
        for (const t of tasks) {
          const { info, rows } = taskTrace(ctx, t);
          const shown = rows.slice(0, opts.limit ?? 12);
          out.push("", `${c.id(agent)}  ${c.bold(t)} ${info.title ?? ""}  ${statusColor(c, info.status)(info.status ?? "")} ${c.dim(fmtMs(info.duration_ms))}`);
          out.push(renderTimeline(shown, io, c, { agent: false }));
          if (rows.length > shown.length) out.push(c.dim(`  … ${rows.length - shown.length} more steps (obs trace ${t})`));
        }
      }
      io.out(out.join("\n") + "\n");
      return EXIT_OK;
    }

    if (!target) throw new UserError("name a task to trace (or --exec EXEC for a whole run)");
    const taskId = ctx.resolve("task", target);
    const { info, rows } = taskTrace(ctx, taskId);
    if (opts.json) return printJson(io, opts.limit ? rows.slice(0, opts.limit) : rows), EXIT_OK;
    if (opts.tree) {
      io.out(renderTree(buildTree(info, rows), c, io.columns) + "\n");
      return EXIT_OK;
    }
    const head = `${c.bold(`Trace of ${taskId}`)}${info.title ? ` ${info.title}` : ""}  ${statusColor(c, info.status)(info.status ?? "")}` +
      c.dim(`  ${info.instance_id ?? ""}  ${info.execution_id ?? ""}  ${fmtTime(info.started_at)} · ${fmtMs(info.duration_ms)}`);
    const shown: I001Row[] = opts.limit ? rows.slice(0, opts.limit) : rows;
    const agents = new Set(rows.map((r) => r.instance_id));
    io.out(head + "\n" + renderTimeline(shown, io, c, { agent: agents.size > 1 }) + "\n");
    if (rows.length > shown.length) io.out(c.dim(`… ${rows.length - shown.length} more steps\n`));
    return EXIT_OK;
  });
}

export function registerTrace(program: Command, app: App): void {
  withCommon(
    program
      .command("trace")
      .summary("a task's whole path as a timeline or tree; investigation views (I001–I007)")
      .description(
        "Trace a task (I001) as a timeline — time, offset, agent, type, summary, duration to scale, status —\n" +
          "or with --tree as skills and their tool calls under the task. --exec EXEC traces a whole run by\n" +
          "agent. With an execution: --tools (I002), --skills (I003), --files (I004), --decisions (I006),\n" +
          "--evidence (I007); --correlation ID (I005) follows one correlation id across the bus.",
      )
      .argument("[id]", "a task (or with --tools … an execution); a unique prefix will do")
      .option("--tree", "nest tool calls under their skill under the task")
      .option("--exec <exec>", "the whole run, agent by agent")
      .option("--tools", "per tool: calls, errors, durations (I002)")
      .option("--skills", "per skill: invocations and outcomes (I003)")
      .option("--files", "per file: reads, writes, edits, tasks, agents (I004)")
      .option("--decisions", "decision points with options, choice and reason (I006)")
      .option("--evidence", "assertion results with their evidence, failures first (I007)")
      .option("--correlation <id>", "bus events sharing a correlation id (I005)")
      .addOption(limitOption(50)),
  )
    .addHelpText("after", "\nExamples:\n  obs trace task-103-13\n  obs trace task-103-13 --tree\n  obs trace exec-103 --tools\n  obs trace --exec exec-103 --limit 5\n  obs trace --correlation corr-task-103-13")
    .action(async (target: string | undefined, o: TraceOpts) => {
      app.code = await runTrace(target, o, app.io);
    });
}
