import fs from "node:fs";
import type { Command } from "commander";
import { exportEvents } from "../db/export.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { withRead } from "./context.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface ExportOpts extends CommonOpts {
  jsonl?: boolean;
  output?: string;
}

export async function runExport(exec: string, opts: ExportOpts, io: IO): Promise<number> {
  if (!opts.jsonl) throw new UserError("choose the export format: --jsonl (obs events)");
  return withRead(opts.db, io, {}, (ctx) => {
    const id = ctx.resolve("execution", exec);
    const text = exportEvents(ctx.db, id).map((e) => JSON.stringify(e)).join("\n") + "\n";
    if (opts.output) {
      fs.writeFileSync(opts.output, text);
      io.err(`obs: wrote ${id} to ${opts.output}\n`);
    } else io.out(text);
    return EXIT_OK;
  });
}

export function registerExport(program: Command, app: App): void {
  withCommon(
    program
      .command("export")
      .summary("write an execution out as obs events (--jsonl)")
      .description("Write an execution as obs events (docs/events.md): ingesting the file into another database gives the same rows.")
      .argument("<exec>", "execution id (a unique prefix will do)")
      .option("--jsonl", "obs's own event stream, one JSON event per line")
      .option("-o, --output <file>", "write to a file instead of stdout"),
  )
    .addHelpText("after", "\nExamples:\n  obs export exec-103 --jsonl > exec-103.jsonl\n  obs export exec-103 --jsonl | obs ingest - --db other.db")
    .action(async (exec: string, o: ExportOpts) => {
      app.code = await runExport(exec, o, app.io);
    });
}
