import type { Command } from "commander";
import { openReadOnly, resolveDbPath } from "../db/open.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { parseOrigin } from "../live/origin.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export interface ServeOpts extends CommonOpts {
  host: string;
  port: number;
  token?: string;
  allowOrigin?: string[];
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
  if (err.code === "EADDRINUSE") return new UserError(`port ${port} on ${host} (${what}) is in use; choose another with ${flag}`);
  if (err.code === "EACCES") return new UserError(`may not listen on port ${port} on ${host} (${what}): ${err.message}; choose a port above 1023 with ${flag}`);
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return new UserError(`cannot listen on ${host}: ${err.message}`);
  return e;
}

export async function runServe(opts: ServeOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  if (!LOOPBACK.test(opts.host) && !opts.token) {
    throw new UserError(`--host ${opts.host} makes obs reachable from other machines; give --token SECRET (clients add ?token=SECRET)`);
  }
  const allowOrigins = (opts.allowOrigin ?? []).map(parseOrigin);
  openReadOnly(dbPath).close(); // the same clear error as every command when there is no database
  // Loaded here so that no other command pays for the WebSocket server at start-up.
  const { serve } = await import("../live/serve.js");
  const log = (line: string) => io.err(`obs: ${line}\n`);
  let server;
  try {
    server = await serve({ dbPath, host: opts.host, port: opts.port, token: opts.token, allowOrigins, log });
  } catch (e) {
    throw listenError(e, "--port", opts.host, opts.port, "the event stream");
  }
  // Ctrl-C stops cleanly from the moment the address is printed: the handlers come first.
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  io.err(`obs: serving ${dbPath} at ${server.url}?observability=<execution id|all>${opts.token ? "&token=…" : ""} (Ctrl-C stops)\n`);
  if (opts.json) io.out(JSON.stringify({ url: server.url, port: server.port }) + "\n");
  await stopped;
  await server.close();
  return EXIT_OK;
}

export function registerServe(program: Command, app: App): void {
  withCommon(
    program
      .command("serve")
      .summary("stream events over WebSocket (seed 003's protocol)")
      .description(
        "Serve live events at ws://HOST:PORT/ws?observability=<execution id|all>: a connected message,\n" +
          "a replay of the execution's last 100 events, then events as they are committed. Clients send\n" +
          "{action: subscribe|unsubscribe, topic, filters} and {type: ping}. Loopback only unless --token.\n" +
          "Requests from a web page of another origin, or under a Host name that is not the address served,\n" +
          "are refused unless --allow-origin names it.",
      )
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--port <port>", "WebSocket port (0 picks a free one)", parsePort("--port"), 7070)
      .option("--token <secret>", "require ?token=SECRET from clients (needed to listen beyond loopback)")
      .option("--allow-origin <origin>", "let web pages of this origin connect (repeatable; * for any)", (v: string, prev: string[] = []) => [...prev, v]),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  obs serve\n  obs serve --port 0 --json      # prints {\"url\", \"port\"} once listening\n  obs serve --host 0.0.0.0 --token s3cret",
    )
    .action(async (o: ServeOpts) => {
      app.code = await runServe(o, app.io);
    });
}
