import os from "node:os";
import { Worker } from "node:worker_threads";
import type { Command } from "commander";
import { getBudget, type Budget } from "../db/budget.js";
import { resolveDbPath } from "../db/open.js";
import { EXIT_FINDINGS, EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { A001 } from "../queries/aggregation.js";
import { D007 } from "../queries/detection.js";
import { ALL_EXECUTIONS_SQL, VALIDATION } from "../queries/validation.js";
import { cutAtWord, displayWidth, fmtInt, fmtTime } from "../render/format.js";
import { printJson } from "../render/output.js";
import { indent } from "../render/sections.js";
import { renderTable } from "../render/table.js";
import { withRead, type ReadContext } from "./context.js";
import { checkBudget, limitOf, type BudgetCheck } from "./budget.js";
import { limitOption, withCommon, type App, type CommonOpts } from "./common.js";

export interface Check {
  id: string;
  title: string;
  ok: boolean;
  count: number;
  rows: Record<string, unknown>[];
  skipped?: string;
}
export interface Verdict {
  execution_id: string;
  ok: boolean;
  checks: Check[];
  /** The run held to the budget's limits, when there are any. */
  budget?: BudgetCheck[];
}

export interface ValidateOpts extends CommonOpts {
  all?: boolean;
  limit?: number;
  maxCost?: number;
  maxTokens?: number;
  maxDuration?: number;
  maxErrors?: number;
  maxLoops?: number;
  /** False with --no-budget: the stored limits are not applied. */
  budget?: boolean;
}

export function validateExecution(ctx: ReadContext, executionId: string, budget: Budget = {}): Verdict {
  const checks: Check[] = VALIDATION.map((q) => {
    const r = ctx.run(q as never, { execution_id: executionId });
    const rows = r.rows as Record<string, unknown>[];
    return { id: q.id, title: q.title, ok: rows.length === 0, count: rows.length, rows, ...(r.skipped ? { skipped: r.reason } : {}) };
  });
  return verdictOf(ctx, executionId, checks, budget);
}

/** The run's checks and, when there are limits, the run held to them. */
function verdictOf(ctx: ReadContext, executionId: string, checks: Check[], budget: Budget): Verdict {
  if (!Object.keys(budget).length) return { execution_id: executionId, ok: checks.every((c) => c.ok), checks };
  const figures = ctx.run(A001, { execution_id: executionId });
  const loops = budget.max_loops === undefined ? null : ctx.run(D007, { execution_id: executionId });
  const held = checkBudget(budget, figures.skipped ? undefined : figures.rows[0], loops && !loops.skipped ? loops.rows : null);
  return { execution_id: executionId, ok: checks.every((c) => c.ok) && held.every((b) => b.ok), checks, budget: held };
}

/** One line per limit: the run's figure beside the limit. */
function renderBudget(held: BudgetCheck[], c: ReturnType<typeof palette>): string[] {
  return held.map((b) => {
    const l = limitOf(b.limit);
    const figure = b.value === null ? "unknown" : l.show(b.value);
    const over = b.value !== null && b.value > b.max ? `  over by ${l.show(b.value - b.max)}` : "";
    const text = `budget ${l.what.padEnd(8)} ${figure} (limit ${l.show(b.max)})${over}${b.note ? `: ${b.note}` : ""}`;
    return b.ok ? `  ${c.ok("✓")} ${text}` : `  ${c.error("✗")} ${c.error(text)}`;
  });
}

/**
 * Every execution's verdict from one pass per check over the whole file (`--all`), each split
 * by execution into the rows, in the order, that validating it alone gives.
 */
export function validateAll(ctx: ReadContext, ids: string[], budget: Budget = {}): Verdict[] {
  const byCheck = VALIDATION.map((q) => {
    const r = ctx.run({ ...q, sql: ALL_EXECUTIONS_SQL[q.id] } as never, {});
    // A check skipped on a file without its tables has no rows to shape, and its SQL would not prepare.
    const own = new Set(r.skipped ? [] : ctx.db.prepare(q.sql).columns().map((c) => c.name));
    const rows = new Map<string, Record<string, unknown>[]>();
    for (const row of (r.rows as Record<string, unknown>[]).map((x, i) => ({ x, i })).sort((a, b) => Number(a.x.branch ?? 0) - Number(b.x.branch ?? 0) || a.i - b.i)) {
      const { execution_id, branch: _b, ...rest } = row.x;
      const list = rows.get(execution_id as string) ?? [];
      list.push(own.has("execution_id") ? { execution_id, ...rest } : rest);
      rows.set(execution_id as string, list);
    }
    return { q, rows, skipped: r.skipped ? r.reason : undefined };
  });
  return ids.map((id) => {
    const checks: Check[] = byCheck.map(({ q, rows, skipped }) => {
      const mine = rows.get(id) ?? [];
      return { id: q.id, title: q.title, ok: mine.length === 0, count: mine.length, rows: mine, ...(skipped ? { skipped } : {}) };
    });
    return verdictOf(ctx, id, checks, budget);
  });
}

/** A checklist: ✓ or ✗ per check with its count and first rows, then a one-line verdict. */
export function renderVerdict(v: Verdict, io: IO, limit: number): string {
  const c = palette(io.color);
  const out: string[] = [c.bold(`Validating ${v.execution_id}`)];
  for (const ch of v.checks) {
    const desc = VALIDATION.find((q) => q.id === ch.id)!.description;
    if (ch.skipped) {
      out.push(`  ${c.warn("–")} ${ch.id} ${ch.title}  ${c.warn(`skipped: ${ch.skipped}`)}`);
    } else if (ch.ok) {
      out.push(`  ${c.ok("✓")} ${ch.id} ${ch.title}`);
    } else {
      const head = `  ✗ ${ch.id} ${ch.title}  ${fmtInt(ch.count)} found  `;
      out.push(`  ${c.error("✗")} ${ch.id} ${ch.title}  ${c.error(`${fmtInt(ch.count)} found`)}  ${c.dim(cutAtWord(desc, io.columns - displayWidth(head)))}`);
      const shown = ch.rows.slice(0, limit).map((r) => ({ ...r, ...timeFields(r) }));
      const keys = Object.keys(shown[0] ?? {}).filter((k) => k !== "execution_id");
      // Ids, times and counts are never cut; a table too wide for them is stacked.
      const columns = keys.map((k) => ({
        key: k, header: k.toUpperCase(), keep: /(^|_)id$|_at$|^start$|^end$/.test(k),
        ...(shown.some((r) => typeof r[k] === "number") && shown.every((r) => typeof r[k] === "number" || r[k] === null) ? { align: "right" as const } : {}),
      }));
      out.push(indent(renderTable(shown, columns, { ...io, columns: io.columns - 6 }), 6));
      if (ch.count > shown.length) out.push(c.dim(`      … ${fmtInt(ch.count - shown.length)} more (obs query ${ch.id} ${v.execution_id})`));
    }
  }
  if (v.budget) out.push(...renderBudget(v.budget, c));
  const failed = v.checks.filter((ch) => !ch.ok);
  const skipped = v.checks.filter((ch) => ch.skipped);
  const rows = failed.reduce((a, ch) => a + ch.count, 0);
  const missed = (v.budget ?? []).filter((b) => !b.ok);
  const over = missed.filter((b) => b.value !== null && b.value > b.max).map((b) => limitOf(b.limit).what);
  const unsure = missed.filter((b) => !(b.value !== null && b.value > b.max)).map((b) => limitOf(b.limit).what);
  const budgetSaid = !v.budget ? "" : !missed.length ? "within budget"
    : [over.length ? `over budget: ${over.join(", ")}` : "", unsure.length ? `not known to be within budget: ${unsure.join(", ")}` : ""].filter(Boolean).join("; ");
  if (failed.length === 0 && missed.length === 0) {
    out.push(c.ok(`✓ ${v.execution_id}: all ${v.checks.length - skipped.length} checks passed${budgetSaid ? `, ${budgetSaid}` : ""}`) + (skipped.length ? c.warn(` (${skipped.length} skipped)`) : ""));
  } else {
    const checksSaid = failed.length ? `${failed.length} of ${v.checks.length} checks failed (${fmtInt(rows)} finding${rows === 1 ? "" : "s"})` : `all ${v.checks.length - skipped.length} checks passed`;
    out.push(c.error(`✗ ${v.execution_id}: ${checksSaid}${budgetSaid ? `; ${budgetSaid}` : ""}`));
  }
  return out.join("\n");
}

function timeFields(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === "string" && /_at$|^start$|^end$/.test(k)) out[k] = fmtTime(v);
  return out;
}

/** Below this many executions a worker costs more to start than it saves. */
const PARALLEL_FROM = 8;

/** Validates many executions on worker threads, one slice per core, keeping their order. */
async function validateInParallel(dbPath: string, ids: string[], env: NodeJS.ProcessEnv, budget: Budget): Promise<Verdict[]> {
  const workers = Math.max(1, Math.min(os.availableParallelism(), Math.ceil(ids.length / PARALLEL_FROM)));
  const slices = Array.from({ length: workers }, (_, w) => ids.filter((_, i) => i % workers === w));
  const results = await Promise.all(
    slices.map(
      (slice) =>
        new Promise<Verdict[]>((resolve, reject) => {
          const worker = new Worker(new URL("./validate-worker.js", import.meta.url), { workerData: { db: dbPath, ids: slice, env, budget } });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    ),
  );
  const byId = new Map(results.flat().map((v) => [v.execution_id, v]));
  return ids.map((id) => byId.get(id)!);
}

export async function runValidate(execs: string[], opts: ValidateOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, async (ctx) => {
    let ids: string[];
    if (opts.all) {
      if (execs.length) throw new UserError("give executions or --all, not both");
      ids = ctx.executions();
      if (!ids.length) throw new UserError("the database has no executions to validate");
    } else if (execs.length) {
      ids = execs.map((e) => ctx.resolve("execution", e));
    } else {
      const recent = ctx.executions().slice(0, 3);
      throw new UserError("name the execution(s) to validate, or --all", recent.length ? [`recent: ${recent.join(", ")}`] : []);
    }
    // The stored limits, with the flags' over them.
    const budget: Budget = opts.budget === false ? {} : getBudget(ctx.db);
    const flags = { max_cost_usd: opts.maxCost, max_tokens: opts.maxTokens, max_duration_ms: opts.maxDuration, max_errors: opts.maxErrors, max_loops: opts.maxLoops };
    for (const [f, v] of Object.entries(flags)) if (v !== undefined) budget[f as keyof Budget] = v;
    const verdicts = opts.all
      ? validateAll(ctx, ids, budget)
      : ids.length >= PARALLEL_FROM
        ? await validateInParallel(resolveDbPath(opts.db, io.env), ids, io.env, budget)
        : ids.map((id) => validateExecution(ctx, id, budget));
    if (verdicts.every((v) => v.checks.every((ch) => ch.skipped))) {
      throw new UserError(`nothing could be checked: ${verdicts[0]!.checks[0]!.skipped}`, ["is this an obs database? (`obs ingest` creates the tables)"]);
    }
    if (opts.json) {
      const lim = (v: Verdict) => (opts.limit ? { ...v, checks: v.checks.map((ch) => ({ ...ch, rows: ch.rows.slice(0, opts.limit) })) } : v);
      printJson(io, verdicts.length === 1 && !opts.all ? lim(verdicts[0]!) : verdicts.map(lim));
    } else {
      io.out(verdicts.map((v) => renderVerdict(v, io, opts.limit ?? 5)).join("\n\n") + "\n");
      if (verdicts.length > 1) {
        const bad = verdicts.filter((v) => !v.ok).length;
        const c = palette(io.color);
        io.out("\n" + (bad ? c.error(`✗ ${bad} of ${verdicts.length} executions have findings`) : c.ok(`✓ all ${verdicts.length} executions passed`)) + "\n");
      }
    }
    return verdicts.every((v) => v.ok) ? EXIT_OK : EXIT_FINDINGS;
  });
}

export function registerValidate(program: Command, app: App): void {
  withCommon(
    program
      .command("validate")
      .summary("check a run's integrity (V001–V007) and budget; exit 1 on findings")
      .description(
        "Run the validation checks V001–V007 on executions: a checklist for people, or with --json\n" +
          "{execution_id, ok, checks: [{id, title, ok, count, rows}], budget: [{limit, max, value, ok}]}. Exit 0 when every\n" +
          "check passes and the run is within its budget, 1 when a check finds rows or a limit is passed, 2 on an error —\n" +
          "so `obs validate EXEC || exit 1` gates a CI job.",
      )
      .argument("[exec...]", "execution ids (a unique prefix will do)")
      .option("--all", "validate every execution")
      .addOption(limitOption(5))
      .option("--max-cost <usd>", "fail a run that cost more than this (US dollars; a cost left unknown fails too)", limitOf("max-cost").parse)
      .option("--max-tokens <n>", "fail a run that used more tokens than this, every kind counted (2M, 500k)", limitOf("max-tokens").parse)
      .option("--max-duration <d>", "fail a run that took longer than this (30m, 1h, 1h30m)", limitOf("max-duration").parse)
      .option("--max-errors <n>", "fail a run with more errors than this (0: any error fails)", limitOf("max-errors").parse)
      .option("--max-loops <n>", "fail a run with more repeated-call loops (D007) than this", limitOf("max-loops").parse)
      .option("--no-budget", "leave out the limits stored with obs config"),
  )
    .addHelpText(
      "after",
      "\nA budget's limits can be stored in the database (obs config max-cost 5, …) and\napply to every validate; flags override them.\n" +
        "\nExamples:\n  obs validate exec-103\n  obs validate --all --json | jq '.[] | select(.ok | not) | .execution_id'\n" +
        "  obs validate exec-103 --max-cost 5 --max-tokens 2M --max-duration 30m --max-errors 0",
    )
    .action(async (execs: string[], o: ValidateOpts) => {
      app.code = await runValidate(execs, o, app.io);
    });
}
