import type { Command } from "commander";
import { EXIT_FINDINGS, EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { D001, D002, D003, D004, D005, D006, D007 } from "../queries/detection.js";
import type { Query, QueryResult } from "../queries/types.js";
import { fmtInt, fmtMs, fmtTime, fmtUsd } from "../render/format.js";
import { printJson } from "../render/output.js";
import { section } from "../render/sections.js";
import type { Column } from "../render/table.js";
import { keyedJson, withRead } from "./context.js";
import { limitOption, withCommon, type App, type CommonOpts } from "./common.js";

type R = Record<string, unknown>;
const t = (k: string, header: string): Column<R> => ({ key: k, header, get: (r) => fmtTime(r[k] as string), keep: true });

/** What each detector looked for, in words, and how its rows are shown. */
const VIEWS: { q: Query<never>; lookedFor: string; columns: Column<R>[] }[] = [
  {
    q: D001 as Query<never>, lookedFor: "tool calls taking 3× or more their tool's mean in this run",
    columns: [{ key: "tool", header: "TOOL" }, { key: "duration_ms", header: "TOOK", align: "right", get: (r) => fmtMs(r.duration_ms as number) },
      { key: "avg_ms", header: "MEAN", align: "right", get: (r) => fmtMs(r.avg_ms as number) }, { key: "ratio", header: "×", align: "right" },
      { key: "input_summary", header: "INPUT" }, { key: "tool_use_id", header: "TOOL USE", keep: true, drop: 1 }],
  },
  {
    q: D002 as Query<never>, lookedFor: "3 or more errors, each within 60 s of the one before",
    columns: [t("started_at", "FROM"), { key: "span_ms", header: "OVER", align: "right", get: (r) => fmtMs(r.span_ms as number) },
      { key: "errors", header: "ERRORS", align: "right" }, { key: "first_error", header: "FIRST ERROR" },
      // Ids wrap onto more lines, one whole id to a place, rather than being cut; where the row
      // has no room for them they go on lines beneath it, never left out.
      { key: "task_ids", header: "TASKS", get: (r) => (r.task_ids as string[]).join(", "), wrap: true, min: 14, under: true }],
  },
  {
    q: D003 as Query<never>, lookedFor: "assertions failing now that passed earlier in this run or in an earlier run of the task list",
    columns: [{ key: "task_id", header: "TASK", keep: true }, { key: "category", header: "CATEGORY", keep: true }, { key: "description", header: "ASSERTION" },
      { key: "passed_in", header: "PASSED IN", keep: true, drop: 1 }, t("failed_at", "FAILED AT")],
  },
  {
    q: D004 as Query<never>, lookedFor: "minutes busier than the run's mean + 3σ",
    columns: [t("minute", "MINUTE"), { key: "entries", header: "ENTRIES", align: "right" }, { key: "mean", header: "MEAN", align: "right" },
      { key: "stddev", header: "σ", align: "right" }],
  },
  {
    q: D005 as Query<never>, lookedFor: "locks, agents, skills and assertion chains still held at the run's end",
    columns: [{ key: "resource_type", header: "RESOURCE" }, { key: "id", header: "ID", keep: true }, t("allocated_at", "TAKEN AT"), { key: "owner", header: "OWNER" }],
  },
  {
    q: D006 as Query<never>, lookedFor: "agents waiting on each other's file locks in a cycle (every execution)",
    columns: [{ key: "execution_id", header: "EXECUTION", keep: true }, { key: "cycle", header: "CYCLE" }, { key: "files", header: "FILES" }],
  },
  {
    q: D007 as Query<never>, lookedFor: "one agent making the same tool call (same input) 5 or more times, in a row or each within 60 s of the last",
    columns: [t("first_at", "FROM"), { key: "span_ms", header: "FOR", align: "right", get: (r) => fmtMs(r.span_ms as number) },
      { key: "instance_id", header: "AGENT", drop: 3, get: (r) => String(r.instance_id ?? "(no agent)") },
      { key: "tool", header: "TOOL" }, { key: "input_summary", header: "INPUT" },
      { key: "calls", header: "CALLS", align: "right", get: (r) => `${fmtInt(r.calls as number)}${r.in_a_row ? " in a row" : ""}` },
      { key: "tokens", header: "TOKENS", align: "right", drop: 2, get: (r) => fmtInt(r.tokens as number | null) },
      { key: "cost_usd", header: "COST", align: "right", drop: 1,
        get: (r) => (r.cost_usd === null ? (r.unpriced_calls ? "unknown" : "—") : `${fmtUsd(r.cost_usd as number)}${r.unpriced_calls ? "+?" : ""}`) }],
  },
];

export interface AnomaliesOpts extends CommonOpts {
  limit?: number;
}

export async function runAnomalies(exec: string | undefined, opts: AnomaliesOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, (ctx) => {
    if (!exec) throw new UserError("name an execution", [`recent: ${ctx.executions().slice(0, 3).join(", ")}`]);
    const id = ctx.resolve("execution", exec);
    // D006 looks across executions; here it is narrowed to the one asked about.
    const results: QueryResult<R>[] = VIEWS.map((v) => {
      const r = ctx.run(v.q, { execution_id: id }) as QueryResult<R>;
      return v.q.id === "D006" ? { ...r, rows: r.rows.filter((x) => x.execution_id === id) } : r;
    });
    if (opts.json) {
      printJson(io, keyedJson({ execution_id: id }, results, opts.limit));
    } else {
      const c = palette(io.color);
      const blocks = VIEWS.map((v, i) =>
        section(io, c, v.q.title, results[i]!, v.columns, { limit: opts.limit ?? 10, lookedFor: v.lookedFor, empty: "none found" }),
      );
      const found = results.filter((r) => r.rows.length).length;
      io.out(`${c.bold(`Anomalies in ${id}`)}\n\n${blocks.join("\n\n")}\n\n${found ? c.warn(`${found} of ${VIEWS.length} detectors found something`) : c.ok("nothing unusual found")}\n`);
    }
    return results.some((r) => r.rows.length) ? EXIT_FINDINGS : EXIT_OK;
  });
}

export function registerAnomalies(program: Command, app: App): void {
  withCommon(
    program
      .command("anomalies")
      .summary("outliers, cascades, regressions, leaks, deadlocks and loops (D001–D007)")
      .description("Run the anomaly detectors D001–D007 on an execution; each section says what it looked for and what it found. Exit 1 when any finds something.")
      .argument("[exec]", "execution id (a unique prefix will do)")
      .addOption(limitOption(10)),
  )
    .addHelpText("after", "\nExamples:\n  obs anomalies exec-103\n  obs anomalies exec-103 --json | jq '.D003'")
    .action(async (exec: string | undefined, o: AnomaliesOpts) => {
      app.code = await runAnomalies(exec, o, app.io);
    });
}
