import type { Command } from "commander";
import { resolveDbPath } from "../db/open.js";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { agentOf, describe, isErrorEvent, STREAM_EVENT_TYPES, taskOf, type StreamEvent, type StreamEventType } from "../live/events.js";
import { ChangeFeed } from "../live/feed.js";
import { withRead } from "./context.js";
import { parseWhen, parsePositiveInt, withCommon, type App, type CommonOpts } from "./common.js";

export interface TailOpts extends CommonOpts {
  type?: string;
  task?: string;
  agent?: string;
  errors?: boolean;
  since?: string;
  last?: number;
}

/** Transcript entries that only restate an event of their own kind (a tool call, a skill, an assertion). */
const RESTATED = new Set(["tool_use", "skill_invoke", "skill_complete", "assertion"]);

export interface TailFilter {
  types?: Set<StreamEventType>;
  task?: string;
  agent?: string;
  errorsOnly?: boolean;
}

/** Whether a person watching should see an event; scripts get every event that passes the filters. */
export function passes(e: StreamEvent, f: TailFilter, forPeople: boolean): boolean {
  if (f.types && !f.types.has(e.type)) return false;
  if (forPeople && !f.types && e.type === "transcript:entry" && RESTATED.has(e.entry.entryType)) return false;
  if (f.task && taskOf(e) !== f.task) return false;
  if (f.agent && agentOf(e) !== f.agent) return false;
  if (f.errorsOnly && !isErrorEvent(e)) return false;
  return true;
}

/** One plain line: time, execution (when following several), agent, type, what happened. */
export function plainLine(e: StreamEvent, io: IO, several: boolean): string {
  const c = palette(io.color);
  const time = e.timestamp.slice(11, 23) || "—";
  const agent = agentOf(e) ?? "";
  const text = describe(e);
  const colored = isErrorEvent(e) ? c.error(text) : e.type === "execution:status" || e.type === "wave:status" ? c.bold(text) : text;
  return `${c.dim(time)}  ${several ? c.id(e.executionId.padEnd(12)) + "  " : ""}${agent.padEnd(14)}  ${c.accent(e.type.padEnd(16))}  ${colored}`;
}

function parseTypes(value: string | undefined): Set<StreamEventType> | undefined {
  if (!value) return undefined;
  const types = value.split(",").map((t) => t.trim()).filter(Boolean);
  for (const t of types) {
    if (!STREAM_EVENT_TYPES.includes(t as StreamEventType)) throw new UserError(`--type: unknown event type '${t}'`, [`the types: ${STREAM_EVENT_TYPES.join(", ")}`]);
  }
  return new Set(types as StreamEventType[]);
}

export async function runTail(exec: string | undefined, opts: TailOpts, io: IO): Promise<number> {
  const filter: TailFilter = { types: parseTypes(opts.type), task: opts.task, agent: opts.agent, errorsOnly: opts.errors };
  const dbPath = resolveDbPath(opts.db, io.env);
  // Resolve the ids once, with the same rules (and errors) as every other command.
  const ids = await withRead(opts.db, io, {}, (ctx) => ({
    exec: exec ? ctx.resolve("execution", exec) : undefined,
    task: opts.task ? ctx.resolve("task", opts.task) : undefined,
  }));
  filter.task = ids.task;
  const feed = new ChangeFeed(dbPath, { executionId: ids.exec, loops: true });
  if (feed.snapshot) io.err(`obs: ${dbPath} is read-only here (the file or its directory), so it is read as it is now; rows written to it later will not show\n`);
  const backlog = feed.backlog(opts.last ?? 20, opts.since);

  if (io.isTTY && !opts.json) {
    const { runTailView } = await import("../live/view.js");
    return runTailView({ feed, backlog, filter, dbPath, executionId: ids.exec, io });
  }

  const several = !ids.exec;
  const emit = (events: StreamEvent[]) => {
    for (const e of events) {
      if (!passes(e, filter, !opts.json)) continue;
      io.out(opts.json ? JSON.stringify(e) + "\n" : plainLine(e, io, several) + "\n");
      if (e.type === "execution:status" && (e.status === "completed" || e.status === "failed") && (!ids.exec || e.executionId === ids.exec)) {
        io.err(`obs: ${e.executionId} ${e.status}${e.message ? `: ${e.message}` : ""} — the run is over\n`);
      }
    }
  };
  // Ctrl-C ends the tail cleanly from its first line on: the handlers are in place before it prints.
  const stopped = new Promise<number>((resolve) => {
    const stop = () => {
      feed.close();
      resolve(EXIT_OK);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  emit(backlog);
  feed.start(emit);
  return stopped;
}

export function registerTail(program: Command, app: App): void {
  withCommon(
    program
      .command("tail")
      .summary("watch events as they land (live view on a terminal, lines or NDJSON in a pipe)")
      .description(
        "Follow an execution (or every execution) as its rows are committed, whoever writes them.\n" +
          "On a terminal: a live view (header, waves, agents, event feed; q quit, p pause, e errors only,\n" +
          "↑/↓ scroll while paused). In a pipe: one line per event, or with --json one JSON event per line\n" +
          "(seed 003's shapes). Starts with the last 20 events.",
      )
      .argument("[exec]", "execution id (a unique prefix will do); every execution when left out")
      .option("--type <types>", `only these event types, comma-separated (${STREAM_EVENT_TYPES.join(", ")})`)
      .option("--task <task>", "only events about this task")
      .option("--agent <agent>", "only events of this agent")
      .option("--errors", "only events that report something going wrong")
      .option("--since <when>", "start from this time instead of the last 20 events (date, or age like 10m)", parseWhen("--since"))
      .option("--last <n>", "how many past events to start with (default 20)", parsePositiveInt("--last")),
  )
    .addHelpText("after", "\nExamples:\n  obs tail exec-123\n  obs tail exec-123 --json | jq -c 'select(.type == \"tool:end\")'\n  obs tail --errors --since 1h")
    .action(async (exec: string | undefined, o: TailOpts) => {
      app.code = await runTail(exec, o, app.io);
    });
}
