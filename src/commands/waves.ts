import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { P001, P002, P003, P004, P005, P006, P007 } from "../queries/parallel.js";
import { stackedBar } from "../render/bars.js";
import { displayWidth, fmtMs, fmtPct, fmtTime, wrapWords } from "../render/format.js";
import { printJson } from "../render/output.js";
import { indent, section } from "../render/sections.js";
import { renderTable } from "../render/table.js";
import { statusColor } from "../render/timeline.js";
import { keyedJson, parseDuration, withRead } from "./context.js";
import { limitOption, withCommon, type App, type CommonOpts } from "./common.js";

export interface WavesOpts extends CommonOpts {
  overlaps?: boolean;
  silent?: number;
  limit?: number;
}

export async function runWaves(exec: string | undefined, opts: WavesOpts, io: IO): Promise<number> {
  const overrides: Record<string, number> = opts.silent !== undefined ? { silent_ms: opts.silent } : {};
  return withRead(opts.db, io, overrides, (ctx) => {
    if (!exec) throw new UserError("name an execution", [`recent: ${ctx.executions().slice(0, 3).join(", ")}`]);
    const id = ctx.resolve("execution", exec);
    const args = { execution_id: id };
    const progress = ctx.run(P001, args);
    const efficiency = ctx.run(P004, args);
    const bottlenecks = ctx.run(P005, args);
    const lives = ctx.run(P007, args);
    const silent = ctx.run(P002, args);
    const conflicts = ctx.run(P003, args);
    const overlaps = opts.overlaps ? ctx.run(P006, args) : null;
    const all = [progress, silent, conflicts, efficiency, bottlenecks, ...(overlaps ? [overlaps] : []), lives];
    if (opts.json) {
      printJson(io, keyedJson({ execution_id: id }, all, opts.limit));
      return EXIT_OK;
    }
    const c = palette(io.color);
    const limit = opts.limit ?? 20;
    const eff = new Map(efficiency.rows.map((r) => [r.wave_number, r]));
    const out: string[] = [`${c.bold(`Waves of ${id}`)} ${c.dim("(P001, P004)")}`];
    if (progress.skipped) out.push(c.warn(`  skipped: ${progress.reason}`));
    else if (!progress.rows.length) out.push(c.dim("  no waves recorded"));
    else {
      // Under 80 columns the bar is half as long and the counts' header short, so the table still fits.
      const narrow = io.columns < 80;
      out.push(indent(renderTable(progress.rows, [
        { key: "wave_number", header: "WAVE", align: "right" },
        { key: "status", header: "STATUS", color: (t, r) => statusColor(c, r.status)(t) },
        { key: "bar", header: "PROGRESS", keep: true, get: (r) => stackedBar([{ n: r.completed, char: "█" }, { n: r.failed, char: "▓" }, { n: r.running, char: "▒" }], r.total_tasks, narrow ? 10 : 20),
          color: (t) => t.replace(/█+/g, (m) => c.ok(m)).replace(/▓+/g, (m) => c.error(m)).replace(/▒+/g, (m) => c.warn(m)) },
        { key: "tasks", header: narrow ? "D/F/R/ALL" : "DONE/FAIL/RUN/ALL", align: "right", get: (r) => `${r.completed}/${r.failed}/${r.running}/${r.total_tasks}` },
        { key: "pass_rate", header: "PASS RATE", align: "right", get: (r) => fmtPct(r.pass_rate) },
        { key: "agents", header: "AGENTS", align: "right", get: (r) => String(eff.get(r.wave_number)?.agents ?? "—"), drop: 2 },
        { key: "efficiency", header: "EFFICIENCY", align: "right", get: (r) => fmtPct(eff.get(r.wave_number)?.efficiency), drop: 1 },
        { key: "wall", header: "WALL TIME", align: "right", get: (r) => fmtMs(eff.get(r.wave_number)?.wall_ms), drop: 3 },
      ], { ...io, columns: io.columns - 2 }), 2));
      const legend = `█ completed  ▓ failed  ▒ running  · not started${narrow ? "; D/F/R done, failed, running" : ""}; efficiency = busy task time ÷ (wall time × agents)`;
      out.push(...(displayWidth(legend) <= io.columns - 2 ? [legend] : wrapWords(legend, io.columns - 2)).map((l) => c.dim(`  ${l}`)));
    }
    out.push("");
    out.push(section(io, c, "Silent agents", silent, [
      { key: "instance_id", header: "AGENT", keep: true }, { key: "status", header: "STATUS" }, { key: "current_task_id", header: "TASK", keep: true },
      { key: "last_heartbeat_at", header: "LAST HEARTBEAT", get: (r) => fmtTime(r.last_heartbeat_at), keep: true },
      { key: "silent_ms", header: "SILENT FOR", align: "right", get: (r) => fmtMs(r.silent_ms), color: (t) => c.error(t) },
    ], { limit, empty: "none" }));
    out.push(section(io, c, "File conflicts (same file, same wave, several agents)", conflicts, [
      { key: "wave_number", header: "WAVE", align: "right" }, { key: "file_path", header: "FILE", keep: true },
      { key: "agents", header: "AGENTS", get: (r) => r.agents.join(", "), wrap: true, min: 12 }, { key: "writes", header: "WRITES", align: "right" },
    ], { limit, empty: "none" }));
    out.push(section(io, c, "Bottlenecks (slowest task per wave, and any ≥ 2× the median)", bottlenecks, [
      { key: "wave_number", header: "WAVE", align: "right" }, { key: "task_id", header: "TASK", keep: true },
      { key: "status", header: "STATUS", color: (t, r) => statusColor(c, r.status)(t) },
      { key: "duration_ms", header: "TOOK", align: "right", get: (r) => fmtMs(r.duration_ms) },
      { key: "median_ms", header: "MEDIAN", align: "right", get: (r) => fmtMs(r.median_ms) },
      { key: "ratio", header: "×", align: "right", color: (t) => (Number(t) >= 2 ? c.warn(t) : t) },
    ], { limit }));
    if (overlaps) {
      out.push(section(io, c, "Tasks running at the same time", overlaps, [
        { key: "task_a", header: "TASK", keep: true }, { key: "task_b", header: "AND", keep: true },
        { key: "overlap_ms", header: "OVERLAP", align: "right", get: (r) => fmtMs(r.overlap_ms) },
        { key: "wave_number", header: "WAVES", align: "right", get: (r) => (r.wave_number === r.wave_number_b ? String(r.wave_number) : `${r.wave_number}/${r.wave_number_b}`) },
      ], { limit }));
    }
    out.push(section(io, c, "Agents", lives, [
      { key: "instance_id", header: "AGENT", keep: true }, { key: "status", header: "STATUS", color: (t, r) => statusColor(c, r.status)(t) },
      { key: "spawned_at", header: "SPAWNED", get: (r) => fmtTime(r.spawned_at), keep: true, drop: 0.5 },
      { key: "lifetime_ms", header: "LIVED", align: "right", get: (r) => fmtMs(r.lifetime_ms) },
      { key: "tasks", header: "TASKS", align: "right" }, { key: "heartbeats", header: "BEATS", align: "right", drop: 1 },
    ], { limit }));
    io.out(out.join("\n") + "\n");
    return EXIT_OK;
  });
}

export function registerWaves(program: Command, app: App): void {
  withCommon(
    program
      .command("waves")
      .summary("parallel waves: progress, silent agents, conflicts, bottlenecks (P001–P007)")
      .description(
        "Each wave's progress as a bar with its efficiency (P001, P004), then silent agents (P002), files\n" +
          "written by several agents in one wave (P003), bottlenecks (P005) and each agent's life (P007).\n" +
          "--overlaps adds the pairs of tasks that ran at the same time (P006).",
      )
      .argument("[exec]", "execution id (a unique prefix will do)")
      .option("--overlaps", "also list tasks that ran at the same time (P006)")
      .option("--silent <duration>", "no heartbeat for longer than this is silent (default 5m)", parseDuration("--silent"))
      .addOption(limitOption(20)),
  )
    .addHelpText("after", "\nExamples:\n  obs waves exec-103\n  obs waves exec-103 --overlaps --silent 2m\n  obs waves exec-103 --json | jq '.P002'")
    .action(async (exec: string | undefined, o: WavesOpts) => {
      app.code = await runWaves(exec, o, app.io);
    });
}
