import type { Command } from "commander";
import { resolveDbPath } from "../db/open.js";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { agentOf, describe, isErrorEvent, STREAM_EVENT_TYPES, type StreamEvent } from "../live/events.js";
import { ChangeFeed } from "../live/feed.js";
import { endsRun, passes, type EventFilter } from "../live/filter.js";
import { padColumns } from "../render/width.js";
import { withRead } from "./context.js";
import { parseWhen, parsePositiveInt, withCommon, type App, type CommonOpts, Option } from "./common.js";

export interface TailOpts extends CommonOpts {
  type?: string;
  task?: string;
  agent?: string;
  errors?: boolean;
  since?: string;
  last?: number;
  follow?: boolean;
}

/** One plain line: time, execution (when following several), agent, type, what happened. */
export function plainLine(e: StreamEvent, io: IO, several: boolean): string {
  const c = palette(io.color);
  const time = e.timestamp.slice(11, 23) || "—";
  const agent = agentOf(e) ?? "";
  const text = describe(e);
  const colored = isErrorEvent(e) ? c.error(text) : e.type === "execution:status" || e.type === "wave:status" ? c.bold(text) : text;
  return `${c.dim(time)}  ${several ? c.id(padColumns(e.executionId, 12)) + "  " : ""}${padColumns(agent, 14)}  ${c.accent(padColumns(e.type, 16))}  ${colored}`;
}

function parseTypes(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const types = value.split(",").map((t) => t.trim()).filter(Boolean);
  for (const t of types) {
    if (!(STREAM_EVENT_TYPES as readonly string[]).includes(t)) throw new UserError(`--type: unknown event type '${t}'`, [`the types: ${STREAM_EVENT_TYPES.join(", ")}`]);
  }
  return new Set(types);
}

export async function runTail(exec: string | undefined, opts: TailOpts, io: IO): Promise<number> {
  const stream = Boolean(opts.ndjson || opts.json);
  const dbPath = resolveDbPath(opts.db, io.env);
  // Resolve the ids once, with the same rules (and errors) as every other command.
  // A task or agent named with the execution is one of that execution's.
  const ids = await withRead(opts.db, io, {}, (ctx) => {
    const id = exec !== undefined ? ctx.resolve("execution", exec) : undefined;
    return {
      exec: id,
      task: opts.task !== undefined ? ctx.resolve("task", opts.task, id) : undefined,
      agent: opts.agent !== undefined ? ctx.resolve("agent", opts.agent, id) : undefined,
    };
  });
  const filter: EventFilter = { types: parseTypes(opts.type), task: ids.task, agent: ids.agent, errorsOnly: opts.errors };
  const feed = new ChangeFeed(dbPath, { executionId: ids.exec, loops: true });
  if (feed.snapshot) io.err(`obs: ${dbPath} is read-only here (the file or its directory), so it is read as it is now; rows written to it later will not show\n`);
  // The last events that pass the filters, however far back they are.
  const backlog = feed.backlog(opts.last ?? 20, opts.since, (e) => passes(e, filter, !stream));

  if (io.isTTY && !stream) {
    const { runTailView } = await import("../live/view.js");
    return runTailView({ feed, backlog, filter, dbPath, executionId: ids.exec, io });
  }

  const several = !ids.exec;
  let over = false;
  const sayOver = (executionId: string, status: string, message?: string) => {
    const next = !ids.exec || opts.follow ? "; following on" : " (--follow keeps following)";
    io.err(`obs: ${executionId} ${status}${message ? `: ${message}` : ""} — the run is over${next}\n`);
  };
  const emit = (events: StreamEvent[]) => {
    for (const e of events) {
      if (passes(e, filter, !stream)) io.out(stream ? JSON.stringify(e) + "\n" : plainLine(e, io, several) + "\n");
      if (e.type === "execution:status" && endsRun(e, ids.exec)) {
        sayOver(e.executionId, e.status, e.message);
        if (ids.exec) over = true;
      }
    }
  };
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      feed.close();
      resolve(EXIT_OK);
    };
    // Ctrl-C ends the tail cleanly from its first line on: the handlers are in place before it prints.
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    emit(backlog);
    // A run that had ended before its last event passed the filters is over all the same.
    const status = ids.exec ? feed.ended(ids.exec) : null;
    if (ids.exec && status && !over) {
      sayOver(ids.exec, status);
      over = true;
    }
    if (over && !opts.follow) return stop();
    feed.start((events) => {
      emit(events);
      if (over && !opts.follow) stop();
    });
  });
}

export function registerTail(program: Command, app: App): void {
  withCommon(
    program
      .command("tail")
      .summary("watch events as they land (live view on a terminal, lines or NDJSON in a pipe)")
      .description(
        "Follow an execution (or every execution) as its rows are committed, whoever writes them. " +
          "On a terminal: a live view of the run's header, waves and agents above the event feed (q quit, p pause, e errors only). " +
          "In a pipe: one line per event, or with --ndjson one JSON event per line (the stream " +
          "protocol's event shapes, as obs serve sends them). Starts with the last 20 events that pass the filters. In a pipe, " +
          "tail ends (exit 0) once the execution it follows is over, unless --follow.",
      )
      .argument("[exec]", "execution id (a unique prefix will do); every execution when left out")
      .option("--type <types>", `only these event types, comma-separated (${STREAM_EVENT_TYPES.join(", ")})`)
      .option("--task <task>", "only events about this task")
      .option("--agent <agent>", "only events of this agent")
      .option("--errors", "only events that report something going wrong")
      .option("--since <when>", "start from this time instead of the last 20 events (date, or age like 10m)", parseWhen("--since"))
      .option("--last <n>", "how many past events to start with (default 20)", parsePositiveInt("--last"))
      .option("--follow", "in a pipe, keep following after the run is over"),
    { ndjson: true, json: false },
  )
    // The stream's first spelling, kept so scripts written for it go on working.
    .addOption(new Option("--json", "the same as --ndjson").hideHelp())
    .addHelpText("after", "\nExamples:\n  obs tail exec-123\n  obs tail exec-123 --ndjson | jq -c 'select(.type == \"tool:end\")'\n  obs tail --errors --since 1h --follow")
    .action(async (exec: string | undefined, o: TailOpts) => {
      app.code = await runTail(exec, o, app.io);
    });
}
