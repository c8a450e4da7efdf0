import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { exportEvents } from "../db/export.js";
import { otlpTrace } from "../otlp/export.js";
import { VERSION } from "../version.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { withRead } from "./context.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface ExportOpts extends CommonOpts {
  jsonl?: boolean;
  otlp?: boolean;
  output?: string;
  endpoint?: string;
  header?: string[];
  protocol?: string;
}

/** --header K=V, as OTEL_EXPORTER_OTLP_HEADERS writes them. */
function parseHeader(value: string, prev: string[] = []): string[] {
  if (!/^[^=\s]+=/.test(value)) throw new UserError(`--header takes NAME=VALUE (e.g. --header "Authorization=Bearer s3cret"), got '${value}'`);
  return [...prev, value];
}

type Span = { name: string; attributes: { key: string; value: { stringValue?: string } }[] };

/** What a trace holds, in a user's words: its spans by operation. */
function describeSpans(spans: Span[]): string {
  const ops = new Map<string, number>();
  for (const s of spans) {
    const op = s.attributes.find((a) => a.key === "gen_ai.operation.name")?.value.stringValue ?? "other";
    ops.set(op, (ops.get(op) ?? 0) + 1);
  }
  const words: Record<string, [string, string]> = {
    invoke_workflow: ["run", "runs"], invoke_agent: ["task", "tasks"], execute_tool: ["tool call", "tool calls"], chat: ["model call", "model calls"],
  };
  const parts = [...ops].map(([op, n]) => `${n} ${(words[op] ?? [op, op])[n === 1 ? 0 : 1]}`);
  return `${spans.length} span${spans.length === 1 ? "" : "s"} (${parts.join(", ")})`;
}

export async function runExport(exec: string, opts: ExportOpts, io: IO): Promise<number> {
  if (opts.endpoint !== undefined) opts.otlp = true;
  if (opts.jsonl && opts.otlp) throw new UserError("--jsonl and --otlp are two formats: give one (run obs export twice for both; --endpoint sends OTLP)");
  if (!opts.jsonl && !opts.otlp) throw new UserError("choose the export format: --jsonl (obs events) or --otlp (OpenTelemetry; with --endpoint URL, sent to a collector)");
  if (opts.endpoint !== undefined && opts.output) throw new UserError("--endpoint sends the trace and -o writes it to a file: choose one");
  if (opts.endpoint === undefined && (opts.header?.length || opts.protocol)) throw new UserError("--header and --protocol are for sending: give --endpoint URL too");
  const protocol = opts.protocol ?? "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json") throw new UserError(`--protocol is http/protobuf or http/json, got '${protocol}'`);
  const { id, text, trace } = await withRead(opts.db, io, {}, (ctx) => {
    const id = ctx.resolve("execution", exec);
    if (!opts.otlp) return { id, text: exportEvents(ctx.db, id).map((e) => JSON.stringify(e)).join("\n") + "\n", trace: null };
    const trace = otlpTrace(ctx.db, id, VERSION);
    return { id, text: JSON.stringify(trace) + "\n", trace };
  });
  if (opts.endpoint !== undefined) {
    const { pushTrace, PushError } = await import("../otlp/push.js");
    const headers = Object.fromEntries((opts.header ?? []).map((h) => [h.slice(0, h.indexOf("=")).trim(), h.slice(h.indexOf("=") + 1).trim()]));
    const spans = ((trace!.resourceSpans as { scopeSpans: { spans: Span[] }[] }[])[0]?.scopeSpans[0]?.spans ?? []);
    try {
      const r = await pushTrace(trace!, {
        endpoint: opts.endpoint, headers, protocol,
        onRetry: (why, ms, attempt) => io.err(`obs: ${why}; attempt ${attempt + 1} in ${(ms / 1000).toFixed(1)} s\n`),
      });
      const what = `${describeSpans(spans)} as ${protocol === "http/json" ? "JSON" : "protobuf"}, ${(r.bytes / 1024).toFixed(1)} kB`;
      const verdict = r.rejected ? `it rejected ${r.rejected} span${r.rejected === 1 ? "" : "s"}${r.message ? `: ${r.message}` : ""}` : r.message ? `it accepted all, saying: ${r.message}` : "it accepted all";
      io.err(`obs: sent ${id} to ${r.url}: ${what}, in ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}; ${verdict}\n`);
      return EXIT_OK;
    } catch (e) {
      if (e instanceof PushError) throw new UserError(`could not send ${id}: ${e.message}`, e.status === 401 || e.status === 403 ? ["give the credentials the collector asks for with --header NAME=VALUE"] : []);
      throw e;
    }
  }
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
}

export function registerExport(program: Command, app: App): void {
  withCommon(
    program
      .command("export")
      .summary("write an execution out: obs events (--jsonl) or an OpenTelemetry trace (--otlp), or send it to a collector")
      .description(
        "Write an execution as obs events (--jsonl; ingesting the file into another database gives the same rows)\n" +
          "or as OTLP JSON (--otlp; the OpenTelemetry file exporter's format, GenAI conventions) for Jaeger, Tempo,\n" +
          "Langfuse or Phoenix. With --endpoint URL the trace is sent over OTLP/HTTP to an OpenTelemetry Collector or\n" +
          "any OTLP backend (another obs serve too), retried with backoff while it answers 429 or 503.",
      )
      .argument("<exec>", "execution id (a unique prefix will do)")
      .option("--jsonl", "obs's own event stream, one JSON event per line")
      .option("--otlp", "one OTLP/JSON ExportTraceServiceRequest (resourceSpans → scopeSpans → spans)")
      .option("-o, --output <file>", "write to a file instead of stdout")
      .option("--endpoint <url>", "send the trace over OTLP/HTTP to this collector (…/v1/traces is added to a base URL)")
      .option("--header <name=value>", "a header to send with it, e.g. an API key (repeatable)", parseHeader)
      .option("--protocol <protocol>", "http/protobuf (default) or http/json"),
    { json: false },
  )
    .addHelpText(
      "after",
      "\nExamples:\n  obs export exec-103 --otlp > exec-103.otlp.json\n  obs export exec-103 --jsonl > exec-103.jsonl\n  obs export exec-103 --jsonl | obs ingest - --db other.db\n" +
        "  obs export exec-103 --endpoint http://collector:4318 --header \"Authorization=Bearer s3cret\"",
    )
    .action(async (exec: string, o: ExportOpts) => {
      app.code = await runExport(exec, o, app.io);
    });
}
