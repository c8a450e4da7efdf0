import { Command, CommanderError } from "commander";
import { describeError, EXIT_ERROR, EXIT_OK } from "./errors.js";
import { processIO, type IO } from "./io.js";
import type { App } from "./commands/common.js";
import { registerIngest } from "./commands/ingest.js";
import { registerDemo } from "./commands/demo.js";
import { registerLs } from "./commands/ls.js";
import { registerValidate } from "./commands/validate.js";
import { registerErrors } from "./commands/errors.js";
import { registerTrace } from "./commands/trace.js";
import { registerSummary } from "./commands/summary.js";
import { registerWaves } from "./commands/waves.js";
import { registerAnomalies } from "./commands/anomalies.js";
import { registerQueries } from "./commands/queries.js";
import { registerTail } from "./commands/tail.js";
import { registerServe } from "./commands/serve.js";
import { registerPrune } from "./commands/prune.js";
import { registerExport } from "./commands/export.js";
import { registerSearch } from "./commands/search.js";
import { registerInit } from "./commands/init.js";
import { registerShow } from "./commands/show.js";
import { registerUsage } from "./commands/usage.js";

export { VERSION } from "./version.js";
import { VERSION } from "./version.js";

export function buildProgram(app: App): Command {
  const program = new Command("obs");
  program
    .description("Investigate AI coding-agent runs: ingest their JSONL record into SQLite and ask it questions.")
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => app.io.out(s),
      writeErr: (s) => app.io.err(s),
    })
    .addHelpText(
      "after",
      "\nStart here:\n  obs demo              build a demo database (./obs.db) and see what to try\n" +
        "  obs ls                the runs in the database\n  obs validate EXEC     check a run's integrity (exit 1 on findings)\n" +
        "  obs usage             what the runs cost, by day (--by model, agent, session, …)\n",
    );
  registerIngest(program, app);
  registerDemo(program, app);
  registerLs(program, app);
  registerValidate(program, app);
  registerErrors(program, app);
  registerTrace(program, app);
  registerSummary(program, app);
  registerWaves(program, app);
  registerAnomalies(program, app);
  registerQueries(program, app);
  registerTail(program, app);
  registerServe(program, app);
  registerPrune(program, app);
  registerExport(program, app);
  registerSearch(program, app);
  registerInit(program, app);
  registerShow(program, app);
  registerUsage(program, app);
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
  const program = buildProgram(app);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_OK;
    }
    await program.parseAsync(hoistCommonOptions(argv), { from: "user" });
    return app.code;
  } catch (err) {
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
