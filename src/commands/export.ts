import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { exportEvents } from "../db/export.js";
import { otlpTrace } from "../db/otlp.js";
import { VERSION } from "../version.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { withRead } from "./context.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface ExportOpts extends CommonOpts {
  jsonl?: boolean;
  otlp?: boolean;
  output?: string;
}

export async function runExport(exec: string, opts: ExportOpts, io: IO): Promise<number> {
  if (opts.jsonl && opts.otlp) throw new UserError("--jsonl and --otlp are two formats: give one (run obs export twice for both)");
  if (!opts.jsonl && !opts.otlp) throw new UserError("choose the export format: --jsonl (obs events) or --otlp (OpenTelemetry JSON)");
  return withRead(opts.db, io, {}, (ctx) => {
    const id = ctx.resolve("execution", exec);
    const text = opts.otlp
      ? JSON.stringify(otlpTrace(ctx.db, id, VERSION)) + "\n"
      : exportEvents(ctx.db, id).map((e) => JSON.stringify(e)).join("\n") + "\n";
    if (opts.output) {
      const dir = path.dirname(path.resolve(opts.output));
      if (!fs.existsSync(dir)) throw new UserError(`cannot write ${opts.output}: no directory ${dir}`, ["create it first, or choose another -o"]);
      try {
        fs.writeFileSync(opts.output, text);
      } catch (e) {
        throw new UserError(`cannot write ${opts.output}: ${(e as Error).message}`);
      }
      io.err(`obs: wrote ${id} to ${opts.output}\n`);
    } else io.out(text);
    return EXIT_OK;
  });
}

export function registerExport(program: Command, app: App): void {
  withCommon(
    program
      .command("export")
      .summary("write an execution out: obs events (--jsonl) or an OpenTelemetry trace (--otlp)")
      .description(
        "Write an execution as obs events (--jsonl; ingesting the file into another database gives the same rows)\n" +
          "or as OTLP JSON (--otlp; the OpenTelemetry file exporter's format, GenAI conventions) for Jaeger, Tempo,\n" +
          "Langfuse or Phoenix.",
      )
      .argument("<exec>", "execution id (a unique prefix will do)")
      .option("--jsonl", "obs's own event stream, one JSON event per line")
      .option("--otlp", "one OTLP/JSON ExportTraceServiceRequest (resourceSpans → scopeSpans → spans)")
      .option("-o, --output <file>", "write to a file instead of stdout"),
    { json: false },
  )
    .addHelpText("after", "\nExamples:\n  obs export exec-103 --otlp > exec-103.otlp.json\n  obs export exec-103 --jsonl > exec-103.jsonl\n  obs export exec-103 --jsonl | obs ingest - --db other.db")
    .action(async (exec: string, o: ExportOpts) => {
      app.code = await runExport(exec, o, app.io);
    });
}
