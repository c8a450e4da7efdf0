import http from "node:http";
import type { AddressInfo } from "node:net";
import { type DB } from "../db/open.js";
import { openWritable } from "../db/write.js";
import { IngestRun } from "../ingest/ingest.js";
import { refusal } from "../live/origin.js";
import { PRICES, type PriceTable } from "../pricing.js";
import { decodeBody, inflate, OtlpBodyError, responseType, statusType, type Signal } from "./decode.js";
import { describeUnkept, mapRequest, SpanMemory, type MapResult } from "./map.js";

/**
 * `obs serve`'s OTLP/HTTP receiver: POST /v1/logs, /v1/traces and /v1/metrics, protobuf or JSON,
 * gzip or not — what OpenTelemetry exporters send by default, so OTEL_EXPORTER_OTLP_ENDPOINT is
 * all a producer sets. Each request is mapped to obs events (./map.ts) and folded by ingest's
 * fold in one transaction before it is answered, so its rows are committed, and `obs tail`
 * shows them, as soon as the exporter hears back. Answers follow the OTLP/HTTP spec: 200 with a
 * partial success saying how many items were rejected and why (and what was accepted but not
 * kept), 400 for a body that is no export request, 415 for another content type or encoding,
 * 413 past the size limit, 401 without the token, 503 (retry) while the database is busy.
 */

export interface ReceiverOptions {
  dbPath: string;
  host: string;
  port: number;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** The most a request body may be, compressed or inflated (default 20 MiB, as the Collector's). */
  maxBody?: number;
  allowOrigins?: readonly string[];
  prices?: PriceTable;
  log?: (line: string) => void;
  /** How long a request body may take to arrive (default 30 s). */
  bodyTimeoutMs?: number;
}

export interface Receiver {
  url: string;
  port: number;
  close: () => Promise<void>;
}

export const DEFAULT_MAX_BODY = 20 * 1024 * 1024;

const SIGNALS: Record<string, Signal> = { "/v1/logs": "logs", "/v1/traces": "traces", "/v1/metrics": "metrics" };
const REJECTED_FIELD: Record<Signal, string> = { logs: "rejectedLogRecords", traces: "rejectedSpans", metrics: "rejectedDataPoints" };

const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 408: 4, 413: 8, 415: 3, 500: 13, 503: 14 };

type Encoding = "json" | "protobuf";

function mediaType(header: string | undefined): Encoding | null {
  const t = (header ?? "").split(";")[0]!.trim().toLowerCase();
  if (t === "application/json") return "json";
  if (t === "application/x-protobuf" || t === "application/protobuf") return "protobuf";
  return null;
}

function reply(res: http.ServerResponse, status: number, encoding: Encoding, body: Buffer | string, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { "content-type": encoding === "json" ? "application/json" : "application/x-protobuf", ...extra });
  res.end(body);
}

/** An error as the spec has it: a Status message, encoded as the request was. */
function fail(res: http.ServerResponse, status: number, message: string, encoding: Encoding = "json", extra: http.OutgoingHttpHeaders = {}): void {
  const code = GRPC_CODE[status] ?? 2;
  const body = encoding === "json" ? JSON.stringify({ code, message }) : Buffer.from(statusType().encode(statusType().create({ code, message })).finish());
  reply(res, status, encoding, body, extra);
}

/** A request body still arriving after this long is refused (a client trickling bytes holds a socket and memory). */
const BODY_TIMEOUT_MS = 30_000;

class BodyTimeout extends Error {}

/** Reads a body up to `max` bytes; null when it is longer (the rest is not read). */
function readBody(req: http.IncomingMessage, max: number, timeoutMs = BODY_TIMEOUT_MS): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const timer = setTimeout(() => reject(new BodyTimeout()), timeoutMs);
    req.once("close", () => clearTimeout(timer));
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

/**
 * How long a request may wait for the write lock before it is answered 503 (retry): the wait
 * blocks the process's one thread, the WebSocket stream and every other request with it, so it
 * is one short try. Another obs writes a whole step (up to 50,000 events) in one transaction;
 * exporters retry with backoff, as the OTLP spec has them do.
 */
const BUSY_TRY_MS = 25;

/** Folds a request's events through ingest's fold, in one transaction; returns which events it refused. */
function foldEvents(db: DB, prices: PriceTable, events: Record<string, unknown>[]): { refused: Set<number>; reasons: Map<string, number> } {
  const refused = new Set<number>();
  const reasons = new Map<string, number>();
  if (!events.length) return { refused, reasons };
  const run = new IngestRun(db, { skipInvalid: true, prices, waitMs: 0, attemptMs: BUSY_TRY_MS, doing: "obs serve (OTLP receiver)", dbPath: db.name });
  for (const b of run.foldRecorded("otlp/http", events.map((e) => JSON.stringify(e)))) {
    refused.add(b.line - 1);
    reasons.set(b.reason, (reasons.get(b.reason) ?? 0) + 1);
  }
  return { refused, reasons };
}

export async function startOtlpReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const db = openWritable(opts.dbPath);
  const prices = opts.prices ?? PRICES;
  const maxBody = opts.maxBody ?? DEFAULT_MAX_BODY;
  const memory = new SpanMemory();
  const openPrompt = db.prepare(`
    SELECT id, started_at AS at FROM tasks
     WHERE execution_id = ? AND display_id = 'prompt' AND status = 'running' AND started_at IS NOT NULL
     ORDER BY started_at DESC LIMIT 1`);
  const heard = new Set<string>();
  const said = new Set<string>();
  /** Says a thing once per kind of thing (not again when only its counts differ). */
  const once = (key: string, line: string) => {
    if (said.has(key) || said.size > 1000) return;
    said.add(key);
    opts.log?.(line);
  };
  let port = opts.port;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const signal = SIGNALS[path];
    if (!signal) return fail(res, 404, `obs receives OTLP/HTTP at POST /v1/logs, /v1/traces and /v1/metrics, not ${path}`);
    if (req.method !== "POST") return fail(res, 405, `${path} takes POST (an OTLP export request), not ${req.method}`, "json", { allow: "POST" });
    const refused = refusal(req, { host: opts.host, port, allowOrigins: opts.allowOrigins });
    if (refused) return fail(res, 403, refused);
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      return fail(res, 401, "this obs serve requires a token: send the header Authorization: Bearer <token> (OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer <token>\")", "json", { "www-authenticate": "Bearer" });
    }
    const encoding = mediaType(req.headers["content-type"]);
    if (!encoding) {
      return fail(res, 415, `content type ${JSON.stringify(req.headers["content-type"] ?? "(none)")} is not an OTLP encoding: send application/x-protobuf or application/json`);
    }
    const contentEncoding = String(req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (!["identity", "gzip", "deflate", ""].includes(contentEncoding)) {
      return fail(res, 415, `content encoding ${contentEncoding} is not supported: send the body as it is, or gzip it`, encoding);
    }
    const declared = Number(req.headers["content-length"]);
    const tooBig = `the body is over ${maxBody} bytes, the most obs takes in one request: export in smaller batches (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE)`;
    if (Number.isFinite(declared) && declared > maxBody) {
      // Read on and drop what is sent (a client still sending when the connection closed would
      // see a reset, not the answer), keeping none of it.
      req.resume();
      return fail(res, 413, tooBig, encoding);
    }
    let raw: Buffer | null;
    try {
      raw = await readBody(req, maxBody, opts.bodyTimeoutMs);
    } catch (e) {
      if (!(e instanceof BodyTimeout)) throw e;
      // Answered, then the connection closed: the rest of the body is not waited for.
      res.once("finish", () => req.socket.destroy());
      return fail(res, 408, `the request body did not arrive within ${((opts.bodyTimeoutMs ?? BODY_TIMEOUT_MS) / 1000).toFixed(0)} s`, encoding, { connection: "close" });
    }
    if (raw === null) return fail(res, 413, tooBig, encoding);
    let result: MapResult;
    try {
      const body = inflate(raw, contentEncoding, maxBody);
      result = mapRequest(decodeBody(signal, encoding, body), {
        prices, memory,
        openPrompt: (exec) => (openPrompt.get(exec) as { id: string; at: string } | undefined) ?? null,
      });
    } catch (e) {
      if (e instanceof OtlpBodyError) return fail(res, e.status, e.message, encoding);
      throw e;
    }
    let folded: ReturnType<typeof foldEvents>;
    try {
      folded = foldEvents(db, prices, result.events);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (code.startsWith("SQLITE_BUSY")) return fail(res, 503, "the database is busy with another writer; retry", encoding, { "retry-after": "1" });
      throw e;
    }
    // An item is rejected when obs could not place it, or when every event made of it was refused.
    const mapRejected = [...result.rejected.values()].reduce((a, n) => a + n, 0);
    const made = new Map<number, { events: number; refused: number }>();
    result.origins.forEach((o, i) => {
      if (o < 0) return;
      const x = made.get(o) ?? { events: 0, refused: 0 };
      x.events++;
      if (folded.refused.has(i)) x.refused++;
      made.set(o, x);
    });
    const foldRejected = [...made.values()].filter((x) => x.events === x.refused).length;
    for (const [reason, n] of folded.reasons) result.rejected.set(reason, (result.rejected.get(reason) ?? 0) + n);
    const rejected = mapRejected + foldRejected;
    for (const [exec, producer] of result.executions) {
      if (heard.has(exec) || heard.size > 10_000) continue;
      heard.add(exec);
      opts.log?.(`receiving ${producer === "workflow" ? "a GenAI workflow" : producer} run ${exec} over OTLP`);
    }
    const message = describeUnkept(signal, result);
    if (message) once(`${path}|${[...result.rejected.keys(), ...result.notKept.keys()].sort().join("|")}`, `${path}: ${message}`);
    const partial = message ? { partialSuccess: { [REJECTED_FIELD[signal]]: rejected, errorMessage: message } } : {};
    if (encoding === "json") {
      const body = message ? { partialSuccess: { [REJECTED_FIELD[signal]]: String(rejected), errorMessage: message } } : {};
      return reply(res, 200, "json", JSON.stringify(body));
    }
    const type = responseType(signal);
    return reply(res, 200, "protobuf", Buffer.from(type.encode(partial).finish()));
  };

  // Request timeouts are checked every 5 s (Node's default, 30 s, let a stalled body hang on for a minute).
  const server = http.createServer({ connectionsCheckingInterval: 5_000 }, (req, res) => {
    handle(req, res).catch((e: Error & { code?: string }) => {
      // A client that went away mid-request is no fault of obs's: nothing to answer, nothing to say.
      if (e.message === "aborted" || e.code === "ECONNRESET" || e.code === "ECONNABORTED") return res.destroy();
      opts.log?.(`OTLP receiver: internal error on ${req.url}: ${e.stack ?? e.message}`);
      if (!res.headersSent) fail(res, 500, `obs could not store this request: ${e.message}`);
      else res.destroy();
    });
  });
  // Headers that never finish are Node's to time out; a body that stalls is readBody's (408).
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    db.close();
    throw e;
  }
  port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  let closed = false;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      db.close();
    },
  };
}
