import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { findQuery, QUERIES } from "../queries/index.js";
import { missingFor } from "../queries/run.js";
import type { ArgKind } from "../queries/types.js";
import { formatOf, printJson, printRows } from "../render/output.js";
import { withRead } from "./context.js";
import { withCommon, type App, type CommonOpts, Option } from "./common.js";

const ARG_NAME: Record<ArgKind, string> = { execution: "EXEC", task: "TASK", correlation: "CORRELATION_ID", task_list: "TASK_LIST", agent: "AGENT", none: "" };

export function runQueries(opts: CommonOpts, io: IO): number {
  const rows = QUERIES.map((q) => ({
    id: q.id,
    family: q.family,
    title: q.title,
    argument: q.arg === "none" ? null : q.argOptional ? `[${ARG_NAME[q.arg]}]` : ARG_NAME[q.arg],
    description: q.description,
    options: (q.options ?? []).map((o) => ({ name: o.name, default: o.default, description: o.description })),
  }));
  printRows(
    io,
    rows,
    [
      { key: "id", header: "ID", keep: true },
      { key: "family", header: "FAMILY", min: 10 },
      { key: "title", header: "TITLE", min: 12 },
      { key: "argument", header: "ARGUMENT", keep: true, get: (r) => r.argument ?? "" },
      { key: "description", header: "FINDS", drop: 1 },
    ],
    formatOf(opts),
  );
  return EXIT_OK;
}

export interface QueryOpts extends CommonOpts {
  sql?: boolean;
  all?: boolean;
  set?: string[];
}

/** `--set name=value` pairs as numbers, checked against the query's options. */
function parseSets(sets: string[] | undefined, allowed: string[], id: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sets ?? []) {
    const m = /^([a-z_]+)=(-?\d+(?:\.\d+)?)$/.exec(s);
    if (!m) throw new UserError(`--set takes name=number, got '${s}'`);
    if (!allowed.includes(m[1]!)) {
      throw new UserError(`${id} has no option '${m[1]}'`, [allowed.length ? `its options: ${allowed.join(", ")}` : `${id} takes no options`]);
    }
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

export async function runQuery(id: string, arg: string | undefined, opts: QueryOpts, io: IO): Promise<number> {
  const q = findQuery(id);
  if (opts.sql) {
    io.out(q.sql.replace(/^\n/, "").replace(/^ {4}/gm, "") + "\n");
    return EXIT_OK;
  }
  const overrides = parseSets(opts.set, (q.options ?? []).map((o) => o.name), q.id);
  return withRead(opts.db, io, overrides, (ctx) => {
    const missing = missingFor(ctx.db, q);
    if (missing) {
      // The rows of a query that cannot run here: none, said on stderr.
      io.err(`obs: ${q.id} skipped: ${missing}\n`);
      if (opts.json) printJson(io, []);
      return EXIT_OK;
    }
    let rows: Record<string, unknown>[];
    if (q.arg === "none") {
      if (arg) throw new UserError(`${q.id} takes no argument`);
      rows = ctx.run(q, {}).rows;
    } else if (opts.all) {
      if (!q.executionScoped) throw new UserError(`--all runs execution-scoped queries for every execution; ${q.id} takes a ${q.arg}`);
      rows = ctx.executions().flatMap((e) => ctx.run(q, { execution_id: e }).rows.map((r) => ({ execution_id: e, ...r })));
    } else if (!arg) {
      if (!q.argOptional) throw new UserError(`${q.id} needs ${ARG_NAME[q.arg]}`, [`usage: obs query ${q.id} ${ARG_NAME[q.arg]}${q.executionScoped ? " (or --all)" : ""}`]);
      rows = ctx.run(q, {}).rows;
    } else {
      const key = { execution: "execution_id", task: "task_id", correlation: "correlation_id", task_list: "task_list_id", agent: "instance_id" }[q.arg];
      rows = ctx.run(q, { [key]: ctx.resolve(q.arg, arg) }).rows;
    }
    const first = rows[0];
    // Ids, lists of ids, times and numbers are never cut (a table too wide for them is stacked); text is.
    const columns = first
      ? Object.keys(first).map((k) => ({
          key: k, header: k.toUpperCase(), keep: /(^|_)ids?$|_at$|^(start|end|minute|timestamp)$/.test(k),
          ...(rows.some((r) => typeof r[k] === "number") && rows.every((r) => typeof r[k] === "number" || r[k] === null) ? { align: "right" as const } : {}),
        }))
      : [];
    printRows(io, rows, columns, formatOf(opts), `${q.id}: no rows`);
    return EXIT_OK;
  });
}

export function registerQueries(program: Command, app: App): void {
  withCommon(program.command("queries").summary("list the 40 named queries").description("List the named queries: id, family, title, the argument each takes and what it finds."))
    .addHelpText("after", "\nExamples:\n  obs queries\n  obs queries --json | jq '.[] | select(.family == \"Validation\")'")
    .action((o: CommonOpts) => {
      app.code = runQueries(o, app.io);
    });
  withCommon(
    program
      .command("query")
      .summary("run one named query")
      .description("Run one named query by id. --json prints exactly a JSON array of its rows ([] when it finds nothing).")
      .argument("<id>", "query id, e.g. V001 (see `obs queries`)")
      .argument("[arg]", "its argument: an execution, task, correlation id or task list (a unique prefix will do)")
      .option("--sql", "print the query's SQL instead of running it")
      .option("--all", "run an execution-scoped query for every execution")
      .addOption(new Option("--set <name=value...>", "set a query option, e.g. --set window_ms=30000")),
    { ndjson: true },
  )
    .addHelpText("after", "\nExamples:\n  obs query V004 exec-103\n  obs query T003 exec-103 --set window_ms=30000 --json\n  obs query D006 --sql")
    .action(async (id: string, arg: string | undefined, o: QueryOpts) => {
      app.code = await runQuery(id, arg, o, app.io);
    });
}
