import type { Command } from "commander";
import { isEmptyDatabase, openReadOnly, resolveDbPath } from "../db/open.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { L001, type ExecutionRow } from "../queries/listing.js";
import { runQuery } from "../queries/run.js";
import { fmtInt, fmtMs, fmtTime, fmtUsd } from "../render/format.js";
import { formatOf, printRows } from "../render/output.js";
import { palette } from "../io.js";
import { parsePositiveInt, parseWhen, withCommon, type App, type CommonOpts } from "./common.js";

export interface LsOpts extends CommonOpts {
  since?: string;
  until?: string;
  status?: string;
  limit?: number;
}

/** A cost is unknown, never 0, when no call could be priced; partly known, it says so. */
export function costText(usd: number | null, unpriced: number): string {
  if (usd === null) return unpriced ? "unknown" : "—";
  return unpriced ? `${fmtUsd(usd)}+?` : fmtUsd(usd);
}

/** The statuses a run has in obs's record; another producer's file may hold others. */
const STATUSES = ["started", "running", "paused", "completed", "failed"];

export async function runLs(opts: LsOpts, io: IO): Promise<number> {
  const db = openReadOnly(resolveDbPath(opts.db, io.env));
  try {
    const res = runQuery(db, L001, { since: opts.since ?? null, until: opts.until ?? null, status: opts.status ?? null });
    // An empty database (no table yet) holds no executions; one with some of obs's tables and not others cannot be listed.
    if (res.skipped && !isEmptyDatabase(db)) throw new UserError(`cannot list executions: ${res.reason}`);
    if (opts.status && !STATUSES.includes(opts.status) && !res.rows.length) {
      const here = [...new Set(runQuery(db, L001, { since: null, until: null, status: null }).rows.map((r) => r.status))].filter((s) => !STATUSES.includes(s));
      throw new UserError(`--status must be a run's status, got '${opts.status}'`, [`the statuses: ${[...STATUSES, ...here].join(", ")}`]);
    }
    const c = palette(io.color);
    const rows = opts.limit ? res.rows.slice(0, opts.limit) : res.rows;
    printRows<ExecutionRow>(
      io,
      rows,
      [
        { key: "execution_id", header: "EXECUTION", keep: true, color: (t) => c.id(t) },
        { key: "status", header: "STATUS", min: 9, color: (t) => (t === "failed" ? c.error(t) : t === "completed" ? c.ok(t) : c.warn(t)) },
        { key: "started_at", header: "STARTED (UTC)", keep: true, get: (r) => fmtTime(r.started_at) },
        { key: "duration_ms", header: "DURATION", min: 8, drop: 3, align: "right", get: (r) => fmtMs(r.duration_ms) },
        { key: "tasks", header: "DONE/FAIL/ALL", min: 8, align: "right", get: (r) => `${r.tasks_completed}/${r.tasks_failed}/${r.tasks}` },
        { key: "errors", header: "ERRORS", drop: 1, align: "right", color: (t) => (t !== "0" ? c.error(t) : t) },
        { key: "agents", header: "AGENTS", drop: 4, align: "right" },
        // Input, output, cache reads and cache writes: every token the run's own model calls used.
        { key: "tokens", header: "TOKENS (ALL)", drop: 5, align: "right", get: (r) => (r.total_tokens === null ? "—" : fmtInt(r.total_tokens)) },
        { key: "cost_usd", header: "COST", drop: 2, align: "right", get: (r) => costText(r.cost_usd, r.unpriced_calls) },
        { key: "task_list_id", header: "TASK LIST", drop: 6 },
      ],
      formatOf(opts),
      "no executions match",
    );
    return EXIT_OK;
  } finally {
    db.close();
  }
}

export function registerLs(program: Command, app: App): void {
  withCommon(
    program
      .command("ls")
      .summary("list the executions, newest first")
      .description("List the executions in the database, newest first, with status, duration, tasks, errors, agents, tokens (input, output, cache reads and writes) and cost. What a run carries of another's record (a resumed or forked session) is not counted as its own; --json shows it as replayed_*.")
      .option("--since <when>", "only runs started at or after (date, or age like 7d, 24h)", parseWhen("--since"))
      .option("--until <when>", "only runs started before (date, or age like 7d, 24h)", parseWhen("--until"))
      .option("--status <status>", "only runs with this status (started, running, paused, completed, failed)")
      .option("--limit <n>", "only the n newest", parsePositiveInt("--limit")),
  )
    .addHelpText("after", "\nExamples:\n  obs ls\n  obs ls --since 7d --status failed --limit 10\n  obs ls --json | jq '.[0].execution_id'")
    .action(async (o: LsOpts) => {
      app.code = await runLs(o, app.io);
    });
}
