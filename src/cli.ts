import type { Command } from "commander";
import { describeError, EXIT_ERROR, EXIT_OK } from "./errors.js";
import { processIO, type IO } from "./io.js";
import type { App } from "./commands/common.js";
export { VERSION } from "./version.js";
import { VERSION } from "./version.js";

type Register = (program: Command, app: App) => void;

/**
 * Every command's module, with the names it registers, loaded only when one of them runs (or
 * for the list of all in `obs --help`): a command's imports — the database driver, the queries,
 * ink — cost nothing to the others, and `obs --version` loads none. A new command is one line.
 */
const COMMANDS: [names: string[], load: () => Promise<Register>][] = [
  [["ingest"], async () => (await import("./commands/ingest.js")).registerIngest],
  [["demo"], async () => (await import("./commands/demo.js")).registerDemo],
  [["ls"], async () => (await import("./commands/ls.js")).registerLs],
  [["validate"], async () => (await import("./commands/validate.js")).registerValidate],
  [["errors"], async () => (await import("./commands/errors.js")).registerErrors],
  [["trace"], async () => (await import("./commands/trace.js")).registerTrace],
  [["summary", "compare"], async () => (await import("./commands/summary.js")).registerSummary],
  [["waves"], async () => (await import("./commands/waves.js")).registerWaves],
  [["anomalies"], async () => (await import("./commands/anomalies.js")).registerAnomalies],
  [["queries", "query"], async () => (await import("./commands/queries.js")).registerQueries],
  [["show"], async () => (await import("./commands/show.js")).registerShow],
  [["tail"], async () => (await import("./commands/tail.js")).registerTail],
  [["serve"], async () => (await import("./commands/serve.js")).registerServe],
  [["prune", "config"], async () => (await import("./commands/prune.js")).registerPrune],
  [["export"], async () => (await import("./commands/export.js")).registerExport],
  [["search"], async () => (await import("./commands/search.js")).registerSearch],
  [["init"], async () => (await import("./commands/init.js")).registerInit],
  [["usage"], async () => (await import("./commands/usage.js")).registerUsage],
];

const unwrap = (text: string) => text.replace(/([^\n])\n(?!\n)/g, "$1 ");

/** The command a command line runs, if it names one obs has (`obs help X` runs X's help). */
function commandOf(argv: string[]): string | undefined {
  const [first, second] = argv;
  const name = first === "help" ? second : first;
  return COMMANDS.some(([names]) => names.includes(name ?? "")) ? name : undefined;
}

/**
 * The program with the commands a command line needs: the one it runs, or every one for help
 * and for a name obs does not know (to list them, and suggest the closest).
 */
export async function buildProgram(app: App, argv?: string[]): Promise<Command> {
  const { CommandClass } = await import("./commands/common.js");
  const program = new CommandClass("obs");
  program
    .description("Investigate AI coding-agent runs: ingest their JSONL record into SQLite and ask it questions.")
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => app.io.out(s),
      writeErr: (s) => app.io.err(s),
      // The parser's own complaints speak as obs's do: `obs: …`, and where to look.
      outputError: (s, write) => write(`obs: ${s.replace(/^error: /, "")}`),
    })
    // Descriptions are wrapped once, by commander at the terminal's width: a line break written
    // into one is a space (a blank line still parts two paragraphs). Commands inherit this.
    .configureHelp({
      commandDescription: (cmd) => unwrap(cmd.description()),
      subcommandDescription: (cmd) => unwrap(cmd.summary() || cmd.description()),
    })
    .addHelpText(
      "after",
      "\n--db PATH and --json may also come before the command (obs --db runs.db ls),\nand --ndjson before tail.\n" +
        "\nStart here:\n  obs demo              build a demo database (./obs.db) and see what to try\n" +
        "  obs ls                the runs in the database\n  obs validate EXEC     check a run's integrity (exit 1 on findings)\n" +
        "  obs usage             what the runs cost, by day (--by model, agent, session, …)\n",
    );
  const only = argv && commandOf(argv);
  for (const [names, load] of COMMANDS) if (!only || names.includes(only)) (await load())(program, app);
  // After a parse error, where to look: the command's own help, or the list of commands.
  program.showHelpAfterError("  obs --help lists the commands");
  for (const c of program.commands) c.showHelpAfterError(`  obs ${c.name()} --help says what it takes`);
  return program;
}

/**
 * The options every command takes may also come before it (`obs --db f ls`, as git and docker
 * take theirs): they are moved after the command's name, where the command reads them.
 */
export function hoistCommonOptions(argv: string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--db" && i + 1 < argv.length) lead.push(a, argv[++i]!);
    else if (a.startsWith("--db=") || a === "--json" || a === "--ndjson") lead.push(a);
    else break;
  }
  if (!lead.length || i >= argv.length) return argv;
  return [argv[i]!, ...lead, ...argv.slice(i + 1)];
}

/** Runs the CLI and returns its exit status; never throws. */
export async function run(argv: string[], io: IO): Promise<number> {
  const app: App = { io, code: EXIT_OK };
  // Before anything is loaded: `obs --version` is what scripts call to see that obs is there.
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    io.out(VERSION + "\n");
    return EXIT_OK;
  }
  try {
    const args = hoistCommonOptions(argv);
    const program = await buildProgram(app, args);
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_OK;
    }
    await program.parseAsync(args, { from: "user" });
    return app.code;
  } catch (err) {
    const { CommanderError } = await import("./commands/common.js");
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse failure is a usage error.
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
        return EXIT_OK;
      }
      return EXIT_ERROR;
    }
    const { lines, code } = describeError(err);
    io.err(lines.join("\n") + "\n");
    return code;
  }
}

export async function main(argv: string[]): Promise<number> {
  // `obs … | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  return run(argv, processIO());
}
