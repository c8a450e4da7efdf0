import type { Command } from "commander";
import { openReadOnly, resolveDbPath } from "../db/open.js";
import { openWritable } from "../db/write.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { parseOrigin } from "../live/origin.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface ServeOpts extends CommonOpts {
  host: string;
  port: number;
  /** The OTLP/HTTP port, or false with --no-otlp. */
  otlpPort: number | false;
  token?: string;
  allowOrigin?: string[];
  /** A price table laid over the built-in one, for model calls received without a cost. */
  prices?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** A TCP port: 0 (any free one) to 65535. */
export function parsePort(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n > 65535) throw new UserError(`${flag} must be a port from 0 (any free one) to 65535, got '${v}'`);
    return n;
  };
}

/** What a failed listen means to the user, as one line. */
function listenError(e: unknown, flag: string, host: string, port: number, what: string): UserError | unknown {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "EADDRINUSE") return new UserError(`port ${port} on ${host} (${what}) is in use; choose another with ${flag}${flag === "--otlp-port" ? ", or serve without OpenTelemetry with --no-otlp" : ""}`);
  if (err.code === "EACCES") return new UserError(`may not listen on port ${port} on ${host} (${what}): ${err.message}; choose a port above 1023 with ${flag}`);
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return new UserError(`cannot listen on ${host}: ${err.message}`);
  return e;
}

export async function runServe(opts: ServeOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  if (!LOOPBACK.test(opts.host) && !opts.token) {
    throw new UserError(`--host ${opts.host} makes obs reachable from other machines; give --token SECRET (clients add ?token=SECRET, OTLP exporters the header Authorization=Bearer SECRET)`);
  }
  const allowOrigins = (opts.allowOrigin ?? []).map(parseOrigin);
  // Receiving OpenTelemetry writes runs, so the database is made if it is not there yet; serving
  // the stream alone only reads (the same clear error as every command when there is none).
  if (opts.otlpPort === false) openReadOnly(dbPath).close();
  else {
    try {
      openWritable(dbPath).close();
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${e.message} (obs serve writes what it receives over OpenTelemetry)`, [...e.hints, "serve the stream alone, read-only, with --no-otlp"]);
      throw e;
    }
  }
  // A price table that cannot be read stops obs serve before it listens, as it stops obs ingest.
  const prices = opts.otlpPort === false ? undefined : (await import("../pricing.js")).loadPrices(opts.prices ?? io.env.OBS_PRICES);
  // Loaded here so that no other command pays for the WebSocket server or protobuf at start-up.
  const { serve } = await import("../live/serve.js");
  const log = (line: string) => io.err(`obs: ${line}\n`);
  let server;
  try {
    server = await serve({ dbPath, host: opts.host, port: opts.port, token: opts.token, allowOrigins, log });
  } catch (e) {
    throw listenError(e, "--port", opts.host, opts.port, "the event stream");
  }
  let receiver;
  if (opts.otlpPort !== false) {
    const { startOtlpReceiver } = await import("../otlp/receiver.js");
    try {
      receiver = await startOtlpReceiver({ dbPath, host: opts.host, port: opts.otlpPort, token: opts.token, allowOrigins, log, prices });
    } catch (e) {
      await server.close();
      throw listenError(e, "--otlp-port", opts.host, opts.otlpPort, "OpenTelemetry");
    }
  }
  // Ctrl-C stops cleanly from the moment the address is printed: the handlers come first.
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  io.err(`obs: serving ${dbPath} at ${server.url}?observability=<execution id|all>${opts.token ? "&token=…" : ""} (Ctrl-C stops)\n`);
  if (receiver) io.err(`obs: receiving OpenTelemetry (OTLP/HTTP, protobuf or JSON) at ${receiver.url}: set OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url}${opts.token ? " and OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer …\"" : ""}\n`);
  if (opts.json) io.out(JSON.stringify({ url: server.url, port: server.port, otlp: receiver ? { url: receiver.url, port: receiver.port } : null }) + "\n");
  await stopped;
  await receiver?.close();
  await server.close();
  return EXIT_OK;
}

export function registerServe(program: Command, app: App): void {
  withCommon(
    program
      .command("serve")
      .summary("stream events over WebSocket, and receive OpenTelemetry (OTLP/HTTP) from agents")
      .description(
        "Serve live events at ws://HOST:PORT/ws?observability=<execution id|all>: a connected message, a replay of the\n" +
          "execution's last 100 events, then events as they are committed. Clients send {action: subscribe|unsubscribe,\n" +
          "topic, filters} and {type: ping}.\n\n" +
          "Also receive OpenTelemetry at http://HOST:OTLP-PORT (POST /v1/logs, /v1/traces, /v1/metrics; protobuf or JSON,\n" +
          "gzip or not): Claude Code's and Codex's events and GenAI spans become runs, tool calls, model calls and errors\n" +
          "in the database as they arrive, committed before the exporter is answered.\n\n" +
          "Loopback only unless --token. Requests from a web page of another origin, or under a Host name that is not the\n" +
          "address served, are refused unless --allow-origin names it.",
      )
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--port <port>", "WebSocket port (0 picks a free one)", parsePort("--port"), 7070)
      .option("--otlp-port <port>", "OTLP/HTTP port (0 picks a free one)", parsePort("--otlp-port"), 4318)
      .option("--no-otlp", "do not receive OpenTelemetry (serve the stream only, read-only)")
      .option("--token <secret>", "require ?token=SECRET of WebSocket clients and Authorization: Bearer SECRET of OTLP exporters (needed to listen beyond loopback)")
      .option("--prices <file>", "model prices (JSON, per million tokens) for calls received without a cost, laid over the built-in table; also $OBS_PRICES")
      .option("--allow-origin <origin>", "let web pages of this origin connect (repeatable; * for any)", (v: string, prev: string[] = []) => [...prev, v]),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  obs serve\n  obs serve --port 0 --otlp-port 0 --json   # prints {\"url\", \"port\", \"otlp\"} once listening\n" +
        "  obs serve --host 0.0.0.0 --token s3cret\n\n" +
        "  # Claude Code, live in obs tail:\n" +
        "  CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_LOGS_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=http/json \\\n" +
        "    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 claude",
    )
    .action(async (o: ServeOpts & { otlp?: boolean }) => {
      app.code = await runServe({ ...o, otlpPort: o.otlp === false ? false : o.otlpPort }, app.io);
    });
}
