import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { MAX_KEYS, TIME_KEYS, U000, U001, U002, USAGE_KEYS, type UsageKey, type UsageRow } from "../queries/usage.js";
import { closestTo } from "../queries/index.js";
import { formatOf, printJson } from "../render/output.js";
import { localTime, renderActiveBlock, renderBlocks, renderUsage, usageJson, usageNotes } from "../render/usage.js";
import { checkZone, localZone, offsetIntervals, parseWhenIn } from "../time-zone.js";
import { withRead } from "./context.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface UsageOpts extends CommonOpts {
  by?: string;
  blocks?: boolean;
  since?: string;
  until?: string;
  tz?: string;
  exec?: string;
  project?: string;
}

export function parseKeys(value: string): UsageKey[] {
  const keys = value.split(",").map((k) => k.trim().toLowerCase()).filter(Boolean);
  if (!keys.length) throw new UserError("--by needs a key", [`the keys: ${USAGE_KEYS.join(", ")}`]);
  for (const k of keys) {
    if (!USAGE_KEYS.includes(k as UsageKey)) throw new UserError(`--by: no key '${k}'`, [`the keys: ${USAGE_KEYS.join(", ")} (several with commas: --by day,model)`]);
  }
  const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
  if (repeated) throw new UserError(`--by names '${repeated}' twice`);
  if (keys.length > MAX_KEYS) throw new UserError(`--by takes at most ${MAX_KEYS} keys, got ${keys.length}`);
  return keys as UsageKey[];
}

/** The report's parameters: each key in its slot ('' for an empty one), the window and the zone's offsets. */
function slots(keys: readonly UsageKey[]): Record<string, string> {
  return Object.fromEntries(Array.from({ length: MAX_KEYS }, (_, i) => [`by_${i + 1}`, keys[i] ?? ""]));
}

export async function runUsage(opts: UsageOpts, io: IO): Promise<number> {
  const zone = opts.tz ? checkZone(opts.tz) : localZone(io.env);
  if (opts.blocks && opts.by) throw new UserError("--blocks groups by 5-hour window: leave out --by");
  const keys = opts.blocks ? [] : parseKeys(opts.by ?? "day");
  const format = formatOf(opts);
  return withRead(opts.db, io, {}, (ctx) => {
    const now = Date.parse(ctx.now);
    const since = opts.since ? parseWhenIn("--since", opts.since, zone, now) : null;
    const until = opts.until ? parseWhenIn("--until", opts.until, zone, now) : null;
    if (since && until && since >= until) throw new UserError(`--since (${since}) must be before --until (${until})`);
    const scope = {
      since, until, now: ctx.now,
      execution_id: opts.exec ? ctx.resolve("execution", opts.exec) : null,
      project: opts.project ?? null,
    };
    // The zone's offsets over the span of the record (and of the window asked for): what the
    // grouped report needs, not the blocks.
    let offsetsOf: (typeof scope & { tz_offsets: string }) | undefined;
    const params = () => {
      if (offsetsOf) return offsetsOf;
      const span = ctx.run(U000, {}).rows[0];
      const times = [span?.first_at, span?.last_at, since, until].filter((t): t is string => Boolean(t)).map((t) => Date.parse(t));
      return (offsetsOf = { ...scope, tz_offsets: JSON.stringify(offsetIntervals(zone, Math.min(now, ...times), Math.max(now, ...times))) });
    };
    // Nothing found for a project no run has is a mistake to say, with the closest, as an unknown
    // --exec is; looked at only then, so a report that found rows costs no second pass.
    const checkProject = () => {
      if (!opts.project) return;
      const projects = ctx.run(U001, { ...params(), since: null, until: null, execution_id: null, project: null, ...slots(["project"]) }).rows
        .filter((r) => !r.is_total && r.key_1 !== null).map((r) => r.key_1!);
      if (!projects.includes(opts.project)) {
        throw new UserError(`no project '${opts.project}'`, [projects.length ? `closest: ${closestTo(opts.project, projects).join(", ")}` : "the database has no projects yet"]);
      }
    };
    const c = palette(io.color);
    const window = `${since ? localTime(zone, since) : "the first record"} → ${until ? localTime(zone, until) : "now"}`;
    const scoped = [scope.execution_id && `execution ${scope.execution_id}`, scope.project && `project ${scope.project}`].filter(Boolean).join(", ");

    if (opts.blocks) {
      const blocks = ctx.run(U002, scope).rows;
      if (!blocks.length) checkProject();
      if (format !== "table") {
        if (format === "json") printJson(io, blocks);
        else for (const b of blocks) io.out(JSON.stringify(b) + "\n");
        return EXIT_OK;
      }
      const head = `${c.bold("Usage in 5-hour blocks")} ${c.dim(`· ${zone} · ${window}${scoped ? ` · ${scoped}` : ""}`)}`;
      if (!blocks.length) {
        io.out(`${head}\nno model calls in this range\n`);
        return EXIT_OK;
      }
      const active = blocks.find((b) => b.active);
      const last = blocks[blocks.length - 1]!;
      io.out(`${head}\n${renderBlocks(blocks, zone, io, c)}\n\n` +
        (active ? renderActiveBlock(active, zone, c) : c.dim(`no active block: the last ended ${localTime(zone, last.block_end)}`)) + "\n");
      return EXIT_OK;
    }

    const all = ctx.run(U001, { ...params(), ...slots(keys) }).rows;
    const total: UsageRow | undefined = all[all.length - 1]?.is_total ? all[all.length - 1] : undefined;
    const rows = all.filter((r) => !r.is_total);
    if (!rows.length) checkProject();
    if (format !== "table") {
      const out = rows.length && total ? [...rows.map((r) => usageJson(keys, r, false)), usageJson(keys, total, true)] : [];
      if (format === "json") printJson(io, out);
      else for (const r of out) io.out(JSON.stringify(r) + "\n");
      return EXIT_OK;
    }
    const timed = keys.some((k) => TIME_KEYS.includes(k));
    // The zone matters to the days of a row and to the dates of a window.
    const zoned = timed || since || until;
    const head = `${c.bold(`Usage by ${keys.join(", ")}`)} ${c.dim(`· ${zoned ? `${zone} · ` : ""}${window}${scoped ? ` · ${scoped}` : ""}`)}`;
    if (!rows.length || !total) {
      io.out(`${head}\nno model calls, tool calls or errors in this range\n`);
      return EXIT_OK;
    }
    const notes = usageNotes(total, keys, c, io.columns);
    io.out(`${head}\n${renderUsage(rows, total, keys, io, c)}\n${notes.length ? "\n" + notes.join("\n") + "\n" : ""}`);
    return EXIT_OK;
  });
}

export function registerUsage(program: Command, app: App): void {
  withCommon(
    program
      .command("usage")
      .summary("tokens and cost by day, week, month, session, project, model, agent or tool; 5-hour blocks")
      .description(
        "What the runs in the database cost: tokens (input, output, cache reads, 5-minute and 1-hour cache writes), cost, " +
          "model calls, tool calls and errors, grouped by one key or several (--by day,model), with a total row. " +
          "Each API response counts once: what a resumed or forked session carries of an earlier one is the earlier's. " +
          "Days, weeks (from Monday) and months are the zone's (--tz, default the local zone). A model of unknown " +
          "price shows its cost as unknown (+? when only some calls could be priced). --blocks: 5-hour billing " +
          "windows, with the active one's burn rate and projection to its end.",
      )
      .option("--by <keys>", `group by, comma-separated: ${USAGE_KEYS.join(", ")} (default day)`)
      .option("--blocks", "5-hour billing windows instead, with the active one's burn rate and projection")
      .option("--since <when>", "from this time: a date or time in the zone (2026-02-10, 2026-02-10T09:00), or an age (7d, 24h)")
      .option("--until <when>", "before this time (as --since)")
      .option("--tz <zone>", "the time zone days, weeks and months are counted in (an IANA name such as Europe/Paris, or UTC)")
      .option("--exec <exec>", "only this execution (a unique prefix will do)")
      .option("--project <name>", "only this project (its task list, or the session's working directory)"),
    { ndjson: true },
  )
    .addHelpText(
      "after",
      "\nExamples:\n  obs usage\n  obs usage --by day,model --since 7d\n  obs usage --by agent --json | jq '.[] | select(.total | not) | {agent, cost_usd}'\n" +
        "  obs usage --by month --tz America/New_York\n  obs usage --blocks",
    )
    .action(async (o: UsageOpts) => {
      app.code = await runUsage(o, app.io);
    });
}
