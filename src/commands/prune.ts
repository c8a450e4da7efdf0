import fs from "node:fs";
import type { Command } from "commander";
import { openReadOnly, resolveDbPath } from "../db/open.js";
import { openWritable } from "../db/write.js";
import { BUDGET_FIELDS, getBudget, setBudgetLimit } from "../db/budget.js";
import { getRetentionDays, planPrune, prune, setRetentionDays } from "../db/retention.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { fitLine, fmtInt, wrapWords } from "../render/format.js";
import { printJson } from "../render/output.js";
import { LIMITS } from "./budget.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface PruneOpts extends CommonOpts {
  olderThan?: number;
  dryRun?: boolean;
  vacuum?: boolean;
}

/** An age like 30d, 12h, 2w (or plain days) as days. */
function parseAge(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(h|d|w)?$/.exec(value.trim());
  if (!m) throw new UserError(`--older-than must be an age like 30d, 12h or 2w, got '${value}'`);
  return Number(m[1]) * { h: 1 / 24, d: 1, w: 7 }[(m[2] ?? "d") as "h" | "d" | "w"];
}

/** The retention as `obs config` takes it: whole days, written 30, 30d or 2w. */
function parseRetention(value: string): number {
  const m = /^(\d+)\s*(d|w)?$/.exec(value.trim());
  const days = m ? Number(m[1]) * (m[2] === "w" ? 7 : 1) : 0;
  if (!days) throw new UserError(`retention must be a number of days like 30, 30d or 2w (or off), got '${value}'`);
  return days;
}

const fileSize = (p: string) => [p, `${p}-wal`].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);

export async function runPrune(opts: PruneOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  openReadOnly(dbPath).close(); // the usual clear error when there is no database
  // A dry run only looks: it reads the file as it is, never migrating it.
  const db = opts.dryRun ? openReadOnly(dbPath) : openWritable(dbPath);
  try {
    const days = opts.olderThan ?? getRetentionDays(db);
    if (days === null || days === undefined) {
      throw new UserError("how old is too old? give --older-than 30d, or store a default with `obs config retention 30`");
    }
    const cutoff = new Date(Date.parse(io.env.OBS_NOW ?? "") || Date.now()).getTime() - days * 86_400_000;
    const plan = planPrune(db, new Date(cutoff).toISOString());
    const total = Object.values(plan.rows).reduce((a, b) => a + b, 0);
    const before = fileSize(dbPath);
    if (!opts.dryRun && plan.executions.length) prune(db, plan);
    if (!opts.dryRun && opts.vacuum) {
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.exec("VACUUM");
      db.pragma("wal_checkpoint(TRUNCATE)");
    }
    const after = fileSize(dbPath);
    const result = {
      dry_run: Boolean(opts.dryRun), older_than_days: days, cutoff: plan.cutoff,
      executions: plan.executions.map((e) => e.execution_id), rows: plan.rows, rows_total: total,
      bytes_before: before, bytes_after: after, vacuumed: Boolean(opts.vacuum && !opts.dryRun),
    };
    if (opts.json) {
      printJson(io, result);
      return EXIT_OK;
    }
    if (plan.executions.length === 0) {
      io.out(`nothing to remove: no execution was last active before ${plan.cutoff.slice(0, 19).replace("T", " ")}\n`);
      return EXIT_OK;
    }
    const verb = opts.dryRun ? "would remove" : "removed";
    const said = `${verb} ${plan.executions.length} execution${plan.executions.length === 1 ? "" : "s"} last active before ${plan.cutoff.slice(0, 19).replace("T", " ")} (${fmtInt(total)} rows)`;
    io.out(wrapWords(said, io.columns - 2).join("\n  ") + "\n");
    for (const e of plan.executions.slice(0, 20)) io.out(`  ${e.execution_id}  last active ${e.last_activity.slice(0, 19).replace("T", " ")}\n`);
    if (plan.executions.length > 20) io.out(`  … and ${plan.executions.length - 20} more\n`);
    const detail = Object.entries(plan.rows).filter(([, n]) => n).map(([t, n]) => `${t} ${fmtInt(n)}`).join(", ");
    if (detail) io.out(fitLine(`  rows: ${detail}`, io.columns, 4) + "\n");
    // Retention holds: an ingest of the same folders passes over unchanged files it read before.
    io.out(wrapWords(`their files are not read again while unchanged; \`obs ingest --again FILE\` reads one back`, io.columns - 2).join("\n  ") + "\n");
    if (!opts.dryRun) {
      io.out(opts.vacuum
        ? `file: ${(before / 1048576).toFixed(1)} MiB → ${(after / 1048576).toFixed(1)} MiB\n`
        : `the freed pages are reused by later ingests; --vacuum gives them back to the disk\n`);
    }
    return EXIT_OK;
  } finally {
    db.close();
  }
}

const SETTINGS = ["retention", ...LIMITS.map((l) => l.name)];
/** What each budget setting makes obs validate do, in words. */
const LIMIT_MEANS: Record<string, string> = {
  cost: "obs validate fails a run that cost more", tokens: "obs validate fails a run that used more tokens",
  duration: "obs validate fails a run that took longer", errors: "obs validate fails a run with more errors",
  loops: "obs validate fails a run with more repeated-call loops (D007)",
};

/**
 * `obs config`: the database's settings — the retention obs prune applies, and the budget
 * obs validate holds every run to. A budget limit is removed with `off`.
 */
export async function runConfig(key: string | undefined, value: string | undefined, opts: CommonOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  if (key !== undefined && !SETTINGS.includes(key)) {
    throw new UserError(`no setting '${key}'`, ["settings: retention (days kept by `obs prune`), " + LIMITS.map((l) => l.name).join(", ") + " (the budget `obs validate` holds runs to)"]);
  }
  const limit = LIMITS.find((l) => l.name === key);
  if (value === undefined) {
    const db = openReadOnly(dbPath);
    try {
      const days = getRetentionDays(db);
      const budget = getBudget(db);
      const all: Record<string, number | null> = { retention_days: days, ...Object.fromEntries(BUDGET_FIELDS.map((f) => [f, budget[f] ?? null])) };
      if (opts.json) {
        printJson(io, key === undefined ? all : limit ? { [limit.field]: all[limit.field] } : { retention_days: days });
        return EXIT_OK;
      }
      const lines: string[] = [];
      if (key === undefined || key === "retention") lines.push(`retention: ${days === null ? "not set (obs prune needs --older-than)" : `${days} days`}`);
      for (const l of LIMITS) {
        if (key !== undefined && key !== l.name) continue;
        const v = budget[l.field];
        lines.push(`${l.name}: ${v === undefined ? "not set" : `${l.show(v)} (${LIMIT_MEANS[l.what]})`}`);
      }
      io.out(lines.join("\n") + "\n");
    } finally {
      db.close();
    }
    return EXIT_OK;
  }
  // `off` removes a setting, the retention as a limit.
  const off = /^(off|none)$/i.test(value.trim());
  const parsed = off ? null : limit ? limit.parseAs(limit.name)(value) : parseRetention(value);
  openReadOnly(dbPath).close();
  const db = openWritable(dbPath);
  try {
    if (limit) setBudgetLimit(db, limit.field, parsed);
    else setRetentionDays(db, parsed);
  } finally {
    db.close();
  }
  if (limit) {
    if (opts.json) printJson(io, { [limit.field]: parsed });
    else io.out(parsed === null ? `${limit.name}: not set (obs validate no longer checks the ${limit.what})\n` : `${limit.name}: ${limit.show(parsed)} (${LIMIT_MEANS[limit.what]})\n`);
  } else if (opts.json) printJson(io, { retention_days: parsed });
  else if (parsed === null) io.out(`retention: not set (obs prune needs --older-than)\n`);
  else io.out(`retention: ${parsed} days (obs prune with no --older-than removes executions older than that)\n`);
  return EXIT_OK;
}

export function registerPrune(program: Command, app: App): void {
  withCommon(
    program
      .command("prune")
      .summary("remove whole executions older than an age, or the stored retention")
      .description("Remove whole executions (never part of one) last active before a cutoff, with every row that belongs to them.")
      .option("--older-than <age>", "an age like 30d, 12h, 2w (default: the stored retention)", parseAge)
      .option("--dry-run", "say what would go, change nothing")
      .option("--vacuum", "compact the file afterwards, giving the space back to the disk"),
  )
    .addHelpText("after", "\nExamples:\n  obs prune --older-than 30d --dry-run\n  obs config retention 90 && obs prune --vacuum")
    .action(async (o: PruneOpts) => {
      app.code = await runPrune(o, app.io);
    });
  withCommon(
    program
      .command("config")
      .summary("show or store settings (retention, the budget obs validate checks)")
      .description(
        "Show or store the database's settings: `retention DAYS` is what obs prune removes by default; " +
          "`max-cost USD`, `max-tokens N`, `max-duration D`, `max-errors N` and `max-loops N` are the budget " +
          "obs validate holds every run to (its flags override them; `off` removes a limit).",
      )
      .argument("[key]", `retention, ${LIMITS.map((l) => l.name).join(", ")}`)
      .argument("[value]", "the new value (days like 30 or 2w; dollars, tokens like 2M, a duration like 30m, a count; off)"),
  )
    .addHelpText("after", "\nExamples:\n  obs config\n  obs config retention 30\n  obs config max-cost 5 && obs config max-tokens 2M\n  obs config max-cost off")
    .action(async (key: string | undefined, value: string | undefined, o: CommonOpts) => {
      app.code = await runConfig(key, value, o, app.io);
    });
}
