import { createRequire } from "node:module";
import zlib from "node:zlib";
import { parseJson } from "../ingest/text.js";

/**
 * OTLP export requests (logs, traces, metrics) as obs reads them: the protobuf encoding decoded
 * with the protobufjs root that @opentelemetry/otlp-transformer 0.57 generated from the official
 * opentelemetry-proto definitions (the current line of that package decodes only responses, and
 * no package ships the .proto files themselves), and the JSON encoding of the OTLP/HTTP spec
 * (lowerCamelCase or the proto's own field names, hex trace and span ids, 64-bit integers as
 * strings or numbers, enums as numbers or names). Both become the same plain records: attribute
 * lists as objects, ids as hex, times in epoch milliseconds.
 */

export type Signal = "logs" | "traces" | "metrics";

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Attrs = Record<string, Value>;

export interface LogItem {
  resource: Attrs;
  scope: string;
  /** When the event happened (epoch ms), else when it was observed; null when neither is set. */
  time: number | null;
  severity: string | null;
  body: Value;
  attrs: Attrs;
  /** The record's own event name (proto field 12, newer than the decoder's definitions: JSON only). */
  eventName: string | null;
  traceId: string | null;
  spanId: string | null;
}

export interface SpanItem {
  resource: Attrs;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  /** Epoch ms. */
  start: number;
  end: number;
  attrs: Attrs;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string | null };
}

export interface MetricItem {
  resource: Attrs;
  name: string;
  points: number;
}

export interface ExportRequest {
  signal: Signal;
  logs: LogItem[];
  spans: SpanItem[];
  metrics: MetricItem[];
}

/** A body that is not an OTLP export request: the HTTP status it earns and why. */
export class OtlpBodyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 | 415 = 400,
  ) {
    super(message);
    this.name = "OtlpBodyError";
  }
}

interface ProtoType {
  decode(data: Uint8Array): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}
type Root = {
  opentelemetry: {
    proto: {
      collector: {
        logs: { v1: { ExportLogsServiceRequest: ProtoType; ExportLogsServiceResponse: ProtoType } };
        trace: { v1: { ExportTraceServiceRequest: ProtoType; ExportTraceServiceResponse: ProtoType } };
        metrics: { v1: { ExportMetricsServiceRequest: ProtoType; ExportMetricsServiceResponse: ProtoType } };
      };
    };
  };
};

let status: ProtoType | undefined;
/** google.rpc.Status, the body of every OTLP/HTTP error: code 1, message 2 (its `details` are not used). */
export function statusType(): ProtoType & { create(o: object): unknown } {
  if (!status) {
    const pb = createRequire(import.meta.url)("protobufjs/light.js") as typeof import("protobufjs/light.js");
    const t = new pb.Type("Status").add(new pb.Field("code", 1, "int32")).add(new pb.Field("message", 2, "string"));
    // A reflection type resolves its fields' types through a root.
    new pb.Root().define("google.rpc").add(t);
    status = t as unknown as ProtoType;
  }
  return status as ProtoType & { create(o: object): unknown };
}

let root: Root | undefined;
/** Loaded on first use: only the commands that speak OTLP pay for protobufjs. */
export function protoRoot(): Root {
  root ??= createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as Root;
  return root;
}

export function requestType(signal: Signal): ProtoType {
  const c = protoRoot().opentelemetry.proto.collector;
  return signal === "logs" ? c.logs.v1.ExportLogsServiceRequest : signal === "traces" ? c.trace.v1.ExportTraceServiceRequest : c.metrics.v1.ExportMetricsServiceRequest;
}

export function responseType(signal: Signal): ProtoType {
  const c = protoRoot().opentelemetry.proto.collector;
  return signal === "logs" ? c.logs.v1.ExportLogsServiceResponse : signal === "traces" ? c.trace.v1.ExportTraceServiceResponse : c.metrics.v1.ExportMetricsServiceResponse;
}

/** Inflates a gzip or deflate body, refusing one that inflates past `max` bytes (a zip bomb is no export). */
export function inflate(body: Buffer, encoding: string, max: number): Buffer {
  try {
    if (encoding === "gzip") return zlib.gunzipSync(body, { maxOutputLength: max });
    if (encoding === "deflate") return zlib.inflateSync(body, { maxOutputLength: max });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ERR_BUFFER_TOO_LARGE" || /maxOutputLength|Cannot create a Buffer larger/i.test(err.message)) {
      throw new OtlpBodyError(`the body inflates to more than ${max} bytes, the most obs takes in one request`, 413);
    }
    throw new OtlpBodyError(`the body is not valid ${encoding}: ${err.message}`);
  }
  return body;
}

/** Decodes an export request's body, encoded as protobuf or JSON. */
export function decodeBody(signal: Signal, encoding: "protobuf" | "json", body: Buffer): ExportRequest {
  if (encoding === "json") {
    let parsed: unknown;
    try {
      parsed = parseJson(body.toString("utf8"));
    } catch (e) {
      throw new OtlpBodyError(`the body is not JSON: ${(e as Error).message}`);
    }
    return fromJson(signal, parsed, false);
  }
  const type = requestType(signal);
  let message: unknown;
  try {
    message = type.decode(body);
  } catch (e) {
    throw new OtlpBodyError(`the body is not a protobuf ${signal} export request: ${(e as Error).message}`);
  }
  // The proto's JSON form, with bytes as base64 (ids are turned to hex below) and 64-bit integers as strings.
  return fromJson(signal, type.toObject(message, { longs: String, enums: Number, bytes: String }), true);
}

const LISTS: Record<Signal, [string, string, string, string]> = {
  logs: ["resourceLogs", "resource_logs", "scopeLogs", "scope_logs"],
  traces: ["resourceSpans", "resource_spans", "scopeSpans", "scope_spans"],
  metrics: ["resourceMetrics", "resource_metrics", "scopeMetrics", "scope_metrics"],
};

/** Which signal a parsed JSON export request holds (for files, where no path says it). */
export function signalOf(o: unknown): Signal | null {
  if (!isObj(o)) return null;
  for (const s of ["logs", "traces", "metrics"] as const) {
    const [a, b] = LISTS[s];
    if (Array.isArray(o[a]) || Array.isArray(o[b])) return s;
  }
  return null;
}

type O = Record<string, unknown>;
const isObj = (v: unknown): v is O => typeof v === "object" && v !== null && !Array.isArray(v);
/** A field by its JSON name or its proto name. */
const field = (o: O, camel: string): unknown => (camel in o ? o[camel] : o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]);

function list(o: O, camel: string, where: string): O[] {
  const v = field(o, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpBodyError(`${where}.${camel} must be an array`);
  return v.map((x, i) => {
    if (!isObj(x)) throw new OtlpBodyError(`${where}.${camel}[${i}] must be an object`);
    return x;
  });
}

/** Epoch ms of a unix-nanosecond time (string or number); null for 0 or none. */
function nanosToMs(v: unknown, where: string): number | null {
  if (v === undefined || v === null || v === "" || v === 0 || v === "0") return null;
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return Math.floor(v / 1e6);
  if (typeof v === "string" && /^\d{1,20}$/.test(v)) return Number(BigInt(v) / 1_000_000n);
  throw new OtlpBodyError(`${where} must be unix nanoseconds, got ${JSON.stringify(v).slice(0, 40)}`);
}

function hexId(v: unknown, base64: boolean, where: string): string | null {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string") throw new OtlpBodyError(`${where} must be a string`);
  const hex = base64 ? Buffer.from(v, "base64").toString("hex") : v.toLowerCase();
  if (!/^[0-9a-f]*$/.test(hex)) throw new OtlpBodyError(`${where} must be hex, got ${JSON.stringify(v).slice(0, 40)}`);
  return /^0*$/.test(hex) ? null : hex;
}

const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5,
};
const enumOf = (v: unknown, names: Record<string, number>): number => (typeof v === "number" ? v : typeof v === "string" ? (names[v] ?? (Number(v) || 0)) : 0);

/** An AnyValue as a plain value: kvlists as objects, arrays as arrays, bytes as base64, 64-bit ints as numbers when exact. */
export function anyValue(v: unknown, depth = 0): Value {
  if (!isObj(v) || depth > 32) return null;
  if ("stringValue" in v || "string_value" in v) return String(field(v, "stringValue") ?? "");
  if ("boolValue" in v || "bool_value" in v) return Boolean(field(v, "boolValue"));
  if ("intValue" in v || "int_value" in v) {
    const raw = field(v, "intValue");
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : String(raw);
  }
  if ("doubleValue" in v || "double_value" in v) {
    const n = Number(field(v, "doubleValue"));
    return Number.isFinite(n) ? n : null;
  }
  if ("arrayValue" in v || "array_value" in v) {
    const a = field(v, "arrayValue");
    const values = isObj(a) && Array.isArray(a.values) ? a.values : [];
    return values.map((x) => anyValue(x, depth + 1));
  }
  if ("kvlistValue" in v || "kvlist_value" in v) {
    const kv = field(v, "kvlistValue");
    return attributes(isObj(kv) && Array.isArray(kv.values) ? kv.values : [], depth + 1);
  }
  if ("bytesValue" in v || "bytes_value" in v) return String(field(v, "bytesValue") ?? "");
  return null;
}

function attributes(v: unknown, depth = 0): Attrs {
  const out: Attrs = {};
  if (!Array.isArray(v)) return out;
  for (const kv of v) {
    if (isObj(kv) && typeof kv.key === "string") out[kv.key] = anyValue(kv.value, depth);
  }
  return out;
}

function resourceOf(r: O): Attrs {
  const res = field(r, "resource");
  return isObj(res) ? attributes(res.attributes) : {};
}

function scopeName(s: O): string {
  const scope = field(s, "scope") ?? field(s, "instrumentationLibrary");
  return isObj(scope) && typeof scope.name === "string" ? scope.name : "";
}

/** Reads a parsed JSON export request (or a decoded protobuf one, whose ids are base64). */
export function fromJson(signal: Signal, doc: unknown, idsBase64: boolean): ExportRequest {
  if (!isObj(doc)) throw new OtlpBodyError(`an export request must be a JSON object, got ${Array.isArray(doc) ? "an array" : typeof doc}`);
  const [outer, , inner] = LISTS[signal];
  const out: ExportRequest = { signal, logs: [], spans: [], metrics: [] };
  list(doc, outer, "request").forEach((r, ri) => {
    const resource = resourceOf(r);
    const at = `${outer}[${ri}]`;
    list(r, inner, at).forEach((s, si) => {
      const scope = scopeName(s);
      const here = `${at}.${inner}[${si}]`;
      if (signal === "logs") {
        list(s, "logRecords", here).forEach((l, li) => {
          const w = `${here}.logRecords[${li}]`;
          const attrs = attributes(field(l, "attributes"));
          const time = nanosToMs(field(l, "timeUnixNano"), `${w}.timeUnixNano`) ?? nanosToMs(field(l, "observedTimeUnixNano"), `${w}.observedTimeUnixNano`);
          const name = field(l, "eventName");
          out.logs.push({
            resource, scope, time, attrs,
            severity: typeof field(l, "severityText") === "string" && field(l, "severityText") !== "" ? (field(l, "severityText") as string) : null,
            body: anyValue(field(l, "body")),
            eventName: typeof name === "string" && name !== "" ? name : null,
            traceId: hexId(field(l, "traceId"), idsBase64, `${w}.traceId`),
            spanId: hexId(field(l, "spanId"), idsBase64, `${w}.spanId`),
          });
        });
      } else if (signal === "traces") {
        list(s, "spans", here).forEach((sp, i) => {
          const w = `${here}.spans[${i}]`;
          const traceId = hexId(field(sp, "traceId"), idsBase64, `${w}.traceId`);
          const spanId = hexId(field(sp, "spanId"), idsBase64, `${w}.spanId`);
          if (!traceId || !spanId) throw new OtlpBodyError(`${w} has no ${traceId ? "spanId" : "traceId"}`);
          const start = nanosToMs(field(sp, "startTimeUnixNano"), `${w}.startTimeUnixNano`);
          const end = nanosToMs(field(sp, "endTimeUnixNano"), `${w}.endTimeUnixNano`) ?? start;
          if (start === null || end === null) throw new OtlpBodyError(`${w} has no startTimeUnixNano`);
          const status = field(sp, "status");
          out.spans.push({
            resource, scope, traceId, spanId,
            parentSpanId: hexId(field(sp, "parentSpanId"), idsBase64, `${w}.parentSpanId`),
            name: typeof sp.name === "string" ? sp.name : "",
            kind: enumOf(field(sp, "kind"), KIND_NAMES),
            start, end,
            attrs: attributes(field(sp, "attributes")),
            status: {
              code: isObj(status) ? enumOf(status.code, STATUS_NAMES) : 0,
              message: isObj(status) && typeof status.message === "string" && status.message !== "" ? status.message : null,
            },
          });
        });
      } else {
        for (const m of list(s, "metrics", here)) {
          let points = 0;
          for (const kind of ["gauge", "sum", "histogram", "exponentialHistogram", "summary"]) {
            const d = field(m, kind);
            if (isObj(d)) points += Array.isArray(field(d, "dataPoints")) ? (field(d, "dataPoints") as unknown[]).length : 0;
          }
          out.metrics.push({ resource, name: typeof m.name === "string" ? m.name : "", points });
        }
      }
    });
  });
  return out;
}
