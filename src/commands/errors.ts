import type { Command } from "commander";
import { EXIT_FINDINGS, EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { L002 } from "../queries/listing.js";
import { T001, T002, T003, T004, T005, T006, type T001Row } from "../queries/troubleshooting.js";
import { fmtMs, fmtTime, wrapWords } from "../render/format.js";
import { printJson } from "../render/output.js";
import { section } from "../render/sections.js";
import { keyedJson, parseDuration, withRead } from "./context.js";
import { limitOption, withCommon, type App, type CommonOpts } from "./common.js";

export interface ErrorsOpts extends CommonOpts {
  task?: string;
  window?: number;
  limit?: number;
}

export async function runErrors(exec: string | undefined, opts: ErrorsOpts, io: IO): Promise<number> {
  const overrides: Record<string, number> = opts.window !== undefined ? { window_ms: opts.window } : {};
  return withRead(opts.db, io, overrides, (ctx) => {
    const c = palette(io.color);
    const limit = opts.limit ?? 20;
    if (opts.task) {
      // Named with its execution, the task must be one of that execution's.
      const within = exec === undefined ? undefined : ctx.resolve("execution", exec);
      const taskId = ctx.resolve("task", opts.task, within);
      const r = ctx.run(T006, { task_id: taskId });
      const info = ctx.run(L002, { task_id: taskId }).rows[0];
      const status = info?.status ?? null;
      // A task that finished is not blocked, whatever stood in its way; a failed one is a finding.
      const finished = status === "completed" || status === "skipped" || status === "failed";
      const blocked = !finished && r.rows.length > 0;
      if (opts.json) {
        printJson(io, keyedJson({ task_id: taskId, status, blocked }, [r], opts.limit));
      } else {
        io.out(c.bold(`Task ${taskId}`) + (info?.title || status ? ` ${c.dim(`${info?.title ?? ""} — ${status ?? "status unknown"}`)}` : "") + "\n");
        if (finished) io.out(`${status === "failed" ? c.error("it failed") : c.ok(`it is ${status}`)}: nothing blocks a finished task${r.rows.length ? "; what stood in its way:" : ""}\n`);
        if (!finished || r.rows.length) {
          io.out(
            section(io, c, finished ? "In its way" : "What blocks it", r, [
              { key: "blocker_type", header: "BLOCKER", color: (t) => c.warn(t) },
              { key: "detail", header: "DETAIL" },
              { key: "since", header: "SINCE", get: (x) => fmtTime(x.since), keep: true },
            ], { limit, empty: "nothing found" }) + "\n",
          );
        }
      }
      return blocked || status === "failed" ? EXIT_FINDINGS : EXIT_OK;
    }
    if (!exec) throw new UserError("name an execution (or --task TASK)", [`recent: ${ctx.executions().slice(0, 3).join(", ")}`]);
    const id = ctx.resolve("execution", exec);
    const args = { execution_id: id };
    const errors = ctx.run(T001, args);
    const blocked = ctx.run(T002, args);
    const root = ctx.run(T003, args);
    const open = ctx.run(T004, args);
    const repeated = ctx.run(T005, args);
    const results = [errors, blocked, root, open, repeated];
    if (opts.json) {
      printJson(io, keyedJson({ execution_id: id }, results, opts.limit));
    } else {
      const rootRow = root.rows[0];
      const head: string[] = [c.bold(`Errors in ${id}`)];
      if (rootRow) {
        const lead = `Root cause (T003): ${rootRow.error_type} at ${fmtTime(rootRow.occurred_at)} in ${rootRow.task_id ?? "the run"}`;
        const n = rootRow.followed_by;
        const followed = n > 0 ? `followed by ${n} more error${n === 1 ? "" : "s"} within ${fmtMs(rootRow.span_ms)}` : "no errors followed it";
        // Wrapped, never cut: the root cause is the line a person reads first.
        const said = wrapWords(`${lead}, ${followed}`, io.columns - 2).join("\n  ");
        head.push(said.replace(/^Root cause \(T003\)/, `${c.error("Root cause")} ${c.dim("(T003)")}`));
        // A multi-line message (a tool's stderr) read as one paragraph, indented as the lines above.
        for (const l of wrapWords((rootRow.details ?? "").replace(/\s+/g, " ").trim(), io.columns - 2)) head.push(`  ${l}`);
      }
      const out: string[] = [];
      out.push(
        section(io, c, "All errors, in time order", errors, [
          { key: "mark", header: " ", get: (r: T001Row) => (r.id === rootRow?.id ? "▶" : ""), color: (t) => c.error(t), keep: true },
          { key: "occurred_at", header: "TIME", get: (r: T001Row) => fmtTime(r.occurred_at), keep: true },
          { key: "error_type", header: "TYPE", color: (t) => c.error(t), keep: true },
          // A tool, an agent or a skill: a name, whole or not there.
          { key: "source", header: "SOURCE", keep: true, drop: 2 },
          { key: "task_id", header: "TASK", keep: true, drop: 1 },
          { key: "details", header: "DETAILS", wrap: true, min: 32 },
        ], { limit, empty: "no errors" }),
      );
      out.push(
        section(io, c, "Blocked commands", blocked, [
          { key: "occurred_at", header: "TIME", get: (r) => fmtTime(r.occurred_at), keep: true },
          { key: "tool", header: "TOOL" },
          { key: "input_summary", header: "COMMAND", wrap: true, min: 12 },
          { key: "block_reason", header: "REASON", wrap: true, min: 12 },
          { key: "task_id", header: "TASK", keep: true, drop: 1 },
        ], { limit }),
      );
      out.push(
        section(io, c, "Started and never finished", open, [
          { key: "op_type", header: "WHAT", color: (t) => c.warn(t), keep: true },
          { key: "id", header: "ID", keep: true },
          { key: "started_at", header: "STARTED", get: (r) => fmtTime(r.started_at), keep: true },
          { key: "open_ms", header: "OPEN FOR", align: "right", get: (r) => fmtMs(r.open_ms) },
          { key: "detail", header: "DETAIL", drop: 1, wrap: true, min: 16 },
        ], { limit }),
      );
      out.push(
        section(io, c, "Repeated failures", repeated, [
          { key: "count", header: "TIMES", align: "right" },
          { key: "signature", header: "FAILURE", wrap: true, min: 16 },
          { key: "first_at", header: "FIRST", get: (r) => fmtTime(r.first_at), keep: true, drop: 2 },
          { key: "task_ids", header: "TASKS", get: (r) => r.task_ids.join(", "), wrap: true, min: 11, under: true },
        ], { limit }),
      );
      io.out(head.join("\n") + "\n\n" + out.join("\n\n") + "\n");
    }
    return errors.rows.length || blocked.rows.length ? EXIT_FINDINGS : EXIT_OK;
  });
}

export function registerErrors(program: Command, app: App): void {
  withCommon(
    program
      .command("errors")
      .summary("what went wrong in a run, root cause first (T001–T006)")
      .description(
        "Every error of an execution in time order with the root cause marked (T001, T003), then blocked\n" +
          "commands (T002), operations never finished (T004) and repeated failures (T005). With --task, why\n" +
          "that task is blocked (T006). Exit 1 when there are errors or blocked commands.",
      )
      .argument("[exec]", "execution id (a unique prefix will do)")
      .option("--task <task>", "explain why this task is blocked instead (T006)")
      .option("--window <duration>", "errors closer than this form one cascade (default 60s)", parseDuration("--window"))
      .addOption(limitOption(20)),
  )
    .addHelpText("after", "\nExamples:\n  obs errors exec-103\n  obs errors exec-103 --json | jq '.T001[] | .details'\n  obs errors --task task-103-07")
    .action(async (exec: string | undefined, o: ErrorsOpts) => {
      app.code = await runErrors(exec, o, app.io);
    });
}
