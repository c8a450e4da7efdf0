import type { Command } from "commander";
import { openReadOnly, resolveDbPath } from "../db/open.js";
import { EXIT_OK, UserError } from "../errors.js";
import type { IO } from "../io.js";
import { parsePositiveInt, withCommon, type App, type CommonOpts } from "./common.js";

export interface ServeOpts extends CommonOpts {
  host: string;
  port: number;
  token?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export async function runServe(opts: ServeOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  openReadOnly(dbPath).close(); // the same clear error as every command when there is no database
  if (!LOOPBACK.test(opts.host) && !opts.token) {
    throw new UserError(`--host ${opts.host} makes obs reachable from other machines; give --token SECRET (clients add ?token=SECRET)`);
  }
  // Loaded here so that no other command pays for the WebSocket server at start-up.
  const { serve } = await import("../live/serve.js");
  let server;
  try {
    server = await serve({ dbPath, host: opts.host, port: opts.port, token: opts.token, log: (line) => io.err(`obs: ${line}\n`) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE") throw new UserError(`port ${opts.port} on ${opts.host} is in use; choose another with --port`);
    if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") throw new UserError(`cannot listen on ${opts.host}: ${err.message}`);
    throw e;
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
          "{action: subscribe|unsubscribe, topic, filters} and {type: ping}. Loopback only unless --token.",
      )
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--port <port>", "port to listen on (0 picks a free one)", (v) => (v === "0" ? 0 : parsePositiveInt("--port")(v)), 7070)
      .option("--token <secret>", "require ?token=SECRET from clients (needed to listen beyond loopback)"),
  )
    .addHelpText("after", "\nExamples:\n  obs serve\n  obs serve --port 0 --json      # prints {\"url\", \"port\"} once listening\n  obs serve --host 0.0.0.0 --token s3cret")
    .action(async (o: ServeOpts) => {
      app.code = await runServe(o, app.io);
    });
}
