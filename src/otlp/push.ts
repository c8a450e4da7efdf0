import { requestType, responseType, statusType } from "./decode.js";

/**
 * Sends an OTLP trace (an ExportTraceServiceRequest in its JSON form, as src/otlp/export.ts makes
 * it) to a collector or backend over OTLP/HTTP, as protobuf or JSON. As the OTLP/HTTP spec asks
 * of a client: 429, 502, 503 and 504 (and a connection that fails) are retried with exponential
 * backoff, waiting as long as a Retry-After says; any other error is final. The answer's partial
 * success (spans the receiver rejected, and why) is reported.
 */

export type Protocol = "http/protobuf" | "http/json";

export interface PushOptions {
  /** The collector's base URL (…/v1/traces is added) or the full traces URL. */
  endpoint: string;
  headers?: Record<string, string>;
  protocol?: Protocol;
  /** Attempts in all (default 6). */
  attempts?: number;
  /** The first wait between attempts (ms, default 1000; doubled each time, at most 30 s). */
  backoffMs?: number;
  timeoutMs?: number;
  /** Told of each retry. */
  onRetry?: (why: string, waitMs: number, attempt: number) => void;
}

export interface PushResult {
  url: string;
  protocol: Protocol;
  bytes: number;
  attempts: number;
  status: number;
  /** Spans the receiver said it rejected, and its message (also a warning when none were). */
  rejected: number;
  message: string | null;
}

export class PushError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    readonly status: number | null,
  ) {
    super(message);
    this.name = "PushError";
  }
}

/** The traces URL of an endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT is read: a base gets /v1/traces. */
export function tracesUrl(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new PushError(`--endpoint takes a URL like http://127.0.0.1:4318, got '${endpoint}'`, 0, null);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new PushError(`--endpoint must be http:// or https://, got '${endpoint}'`, 0, null);
  if (/\/v1\/traces\/?$/.test(u.pathname)) return u.toString();
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/v1/traces`;
  return u.toString();
}

type O = Record<string, unknown>;

/** The JSON form's hex ids as bytes, which is what the protobuf encoder takes (times and ints it takes as text). */
function forProtobuf(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => forProtobuf(x));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v as O).map(([k, x]) => [k, forProtobuf(x, k)]));
  if ((key === "traceId" || key === "spanId" || key === "parentSpanId") && typeof v === "string") return Buffer.from(v, "hex");
  return v;
}

export function encodeTrace(request: O, protocol: Protocol): Buffer {
  if (protocol === "http/json") return Buffer.from(JSON.stringify(request));
  return Buffer.from(requestType("traces").encode(forProtobuf(request)).finish());
}

/** What an error answer says: its google.rpc.Status message, else its text. */
function statusMessage(body: Buffer, contentType: string): string {
  if (!body.length) return "";
  try {
    if (/protobuf/.test(contentType)) return String((statusType().decode(body) as unknown as { message?: string }).message ?? "");
    const o = JSON.parse(body.toString("utf8")) as { message?: unknown };
    if (typeof o.message === "string") return o.message;
  } catch {
    /* not a Status: its text */
  }
  return body.toString("utf8").slice(0, 300).trim();
}

function partial(body: Buffer, contentType: string, protocol: Protocol): { rejected: number; message: string | null } {
  if (!body.length) return { rejected: 0, message: null };
  try {
    const o = (/protobuf/.test(contentType) || (!/json/.test(contentType) && protocol === "http/protobuf")
      ? responseType("traces").toObject(responseType("traces").decode(body), { longs: String })
      : JSON.parse(body.toString("utf8"))) as { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: unknown } };
    const p = o.partialSuccess;
    if (!p) return { rejected: 0, message: null };
    return { rejected: Number(p.rejectedSpans ?? 0) || 0, message: typeof p.errorMessage === "string" && p.errorMessage !== "" ? p.errorMessage : null };
  } catch {
    return { rejected: 0, message: null };
  }
}

const RETRYABLE = new Set([429, 502, 503, 504]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a Retry-After asks to wait (seconds or an HTTP date), if it does. */
function retryAfter(v: string | null): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

export async function pushTrace(request: O, opts: PushOptions): Promise<PushResult> {
  const url = tracesUrl(opts.endpoint);
  const protocol = opts.protocol ?? "http/protobuf";
  const body = encodeTrace(request, protocol);
  const attempts = opts.attempts ?? 6;
  let wait = opts.backoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST", body,
        headers: { "content-type": protocol === "http/json" ? "application/json" : "application/x-protobuf", ...opts.headers },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      // Fetch refuses some ports outright (6000, 1, 25…, the "bad ports" of the Fetch standard): trying again cannot help.
      if (why === "bad port") throw new PushError(`cannot send to ${url}: Node's fetch refuses port ${new URL(url).port} (a port browsers block); give the collector another port`, attempt, null);
      if (attempt >= attempts) throw new PushError(`could not reach ${url} (${why}) after ${attempt} attempt${attempt === 1 ? "" : "s"}`, attempt, null);
      opts.onRetry?.(`${url} did not answer (${why})`, wait, attempt);
      await sleep(wait);
      wait = Math.min(wait * 2, 30_000);
      continue;
    }
    const answer = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get("content-type") ?? "";
    if (res.ok) return { url, protocol, bytes: body.length, attempts: attempt, status: res.status, ...partial(answer, type, protocol) };
    const said = statusMessage(answer, type);
    if (!RETRYABLE.has(res.status) || attempt >= attempts) {
      const tried = attempt > 1 ? ` after ${attempt} attempts` : "";
      throw new PushError(`${url} refused the trace with ${res.status} ${res.statusText}${said ? `: ${said}` : ""}${tried}`, attempt, res.status);
    }
    const asked = retryAfter(res.headers.get("retry-after"));
    const delay = Math.min(asked ?? wait, 60_000);
    opts.onRetry?.(`${url} answered ${res.status} ${res.statusText}${said ? ` (${said})` : ""}`, delay, attempt);
    await sleep(delay);
    wait = Math.min(wait * 2, 30_000);
  }
}
