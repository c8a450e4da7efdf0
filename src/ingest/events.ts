/**
 * The event stream of events.md: what a line must carry, checked before anything is written.
 * A line that fails names its reason; the caller adds file and line number.
 */
import { cut } from "./text.js";

export const KINDS = [
  "execution:status",
  "transcript:entry",
  "tool:start",
  "tool:end",
  "tool:blocked",
  "tool:output",
  "skill:start",
  "skill:end",
  "assertion:chain_start",
  "assertion:result",
  "assertion:chain_end",
  "task:status",
  "wave:status",
  "agent:heartbeat",
  "messagebus:event",
  "llm:call",
] as const;
export type Kind = (typeof KINDS)[number];

export const EXECUTION_STATUSES = ["started", "running", "paused", "completed", "failed"] as const;
export const TASK_STATUSES = ["pending", "running", "completed", "failed", "blocked", "skipped"] as const;
export const WAVE_STATUSES = ["pending", "running", "completed", "failed"] as const;
export const AGENT_STATUSES = [
  "spawned", "idle", "working", "blocked", "error", "completed", "failed", "terminated",
] as const;
export const SKILL_STATUSES = ["success", "partial", "failed"] as const;
export const ASSERTION_RESULTS = ["pass", "fail", "skip", "warn"] as const;
export const SEVERITIES = ["debug", "info", "warning", "error", "critical"] as const;

/** A validated line: the raw object with `kind` filled in and `timestamp` normalised. */
export interface ObsEvent {
  kind: Kind;
  execution_id: string;
  timestamp: string;
  instance_id?: string;
  task_id?: string;
  wave_id?: string;
  [field: string]: unknown;
}

type FieldType = "string" | "int" | "number" | "bool" | "any" | "strings" | `enum:${string}`;
interface FieldSpec {
  required: Record<string, FieldType>;
  optional: Record<string, FieldType>;
}

const ENTRY_FIELDS: Record<string, FieldType> = { sequence: "int", entry_id: "string", transcript_entry_id: "string", wave_number: "int" };

const enumOf = (values: readonly string[]): FieldType => `enum:${values.join("|")}`;

const SPECS: Record<Kind, FieldSpec> = {
  "execution:status": {
    required: { status: enumOf(EXECUTION_STATUSES) },
    optional: { task_list_id: "string", session_id: "string", message: "string", cwd: "string", git_branch: "string" },
  },
  "transcript:entry": {
    required: { entry_type: "string", category: "string", summary: "string" },
    optional: { ...ENTRY_FIELDS, id: "string", details: "any", duration_ms: "int" },
  },
  "tool:start": {
    required: { tool_use_id: "string", tool: "string", input: "any" },
    optional: {
      ...ENTRY_FIELDS, input_summary: "string", tool_category: "string", within_skill: "string",
      parent_tool_use_id: "string",
    },
  },
  "tool:end": {
    required: { tool_use_id: "string", is_error: "bool" },
    optional: { output: "any", output_summary: "string", error_message: "string" },
  },
  "tool:blocked": { required: { tool_use_id: "string", reason: "string" }, optional: {} },
  "tool:output": { required: { tool_use_id: "string", chunk: "string" }, optional: { is_stderr: "bool" } },
  "skill:start": {
    required: { skill_trace_id: "string", skill_name: "string", skill_file: "string", line_number: "int", section_title: "string" },
    optional: { ...ENTRY_FIELDS },
  },
  "skill:end": {
    required: { skill_trace_id: "string", status: enumOf(SKILL_STATUSES) },
    optional: { ...ENTRY_FIELDS, error: "string" },
  },
  "assertion:chain_start": { required: { chain_id: "string", task_id: "string" }, optional: { description: "string" } },
  "assertion:result": {
    required: {
      assertion_id: "string", task_id: "string", category: "string", description: "string",
      result: enumOf(ASSERTION_RESULTS),
    },
    optional: { ...ENTRY_FIELDS, chain_id: "string", evidence: "any", duration_ms: "int" },
  },
  "assertion:chain_end": { required: { chain_id: "string" }, optional: {} },
  "task:status": {
    required: { task_id: "string", status: enumOf(TASK_STATUSES) },
    optional: { title: "string", display_id: "string", file_path: "string", depends_on: "strings", replaces: "string", agent_type: "string" },
  },
  "wave:status": {
    required: { wave_id: "string", wave_number: "int", status: enumOf(WAVE_STATUSES) },
    optional: { task_ids: "strings" },
  },
  "agent:heartbeat": {
    required: { instance_id: "string", status: enumOf(AGENT_STATUSES) },
    optional: { current_task_id: "string", metrics: "any", agent_type: "string", heartbeat_id: "string" },
  },
  "messagebus:event": {
    required: { event_id: "string", source: "string", event_type: "string", severity: enumOf(SEVERITIES), human_summary: "string" },
    optional: { correlation_id: "string", category: "string", payload: "any" },
  },
  "llm:call": {
    required: { model: "string", input_tokens: "int", output_tokens: "int" },
    optional: {
      id: "string", provider: "string", cache_read_tokens: "int", cache_write_tokens: "int",
      cache_write_1h_tokens: "int", reasoning_tokens: "int", response_id: "string",
      cost_usd: "number", duration_ms: "int", transcript_entry_id: "string",
    },
  },
};

const COMMON_OPTIONAL: Record<string, FieldType> = { instance_id: "string", task_id: "string", wave_id: "string" };

const KIND_SET: ReadonlySet<string> = new Set(KINDS);

/** The specs as arrays, built once: validation runs for every line. */
const COMPILED = new Map(
  KINDS.map((k) => [
    k,
    {
      required: Object.entries(SPECS[k].required),
      optional: [...Object.entries(SPECS[k].optional), ...Object.entries(COMMON_OPTIONAL)],
    },
  ]),
);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `"${v.length > 40 ? v.slice(0, 40) + "…" : v}"`;
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

/** Counts, sizes, durations and costs: none can be below zero. */
const NON_NEGATIVE: ReadonlySet<string> = new Set([
  "sequence", "wave_number", "line_number", "duration_ms", "input_tokens", "output_tokens", "cache_read_tokens",
  "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens", "cost_usd",
]);
/** No step of an agent's run lasts ten years. */
const MAX_DURATION_MS = 10 * 365.25 * 86_400_000;
/** Ids longer than this are no ids (a producer's bug, or an attack on the file's size). */
export const MAX_ID = 1024;
/** Free text longer than this is kept cut, as payloads are. */
const MAX_TEXT = 64 * 1024;
/** Payloads nested deeper than this are no record of anything (and would exhaust the stack). */
export const MAX_DEPTH = 100;
/** The fields that hold ids: too long is wrong, not merely big. */
const ID_FIELDS: ReadonlySet<string> = new Set([
  "execution_id", "instance_id", "task_id", "wave_id", "id", "entry_id", "transcript_entry_id", "tool_use_id", "skill_trace_id",
  "chain_id", "assertion_id", "event_id", "correlation_id", "parent_tool_use_id", "within_skill", "current_task_id", "response_id",
  "task_list_id", "session_id", "replaces",
]);
/** Fields whose text obs shortens itself (summaries to one line of 200 characters). */
const SHORTENED: ReadonlySet<string> = new Set(["summary", "human_summary", "input_summary", "output_summary", "chunk"]);

/** Whether a JSON value nests deeper than `max` (walked without recursion, so any depth is safe). */
function nestsDeeper(value: unknown, max: number): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) return true;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === "object") stack.push([x, d + 1]);
    } else {
      for (const k in v as Record<string, unknown>) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== null && typeof x === "object") stack.push([x, d + 1]);
      }
    }
  }
  return false;
}

/** Returns a reason when `value` is not of `type`, else null. Booleans also accept 0/1. */
function checkType(name: string, value: unknown, type: FieldType): string | null {
  switch (type) {
    case "any":
      return nestsDeeper(value, MAX_DEPTH) ? `${name} is nested more than ${MAX_DEPTH} deep` : null;
    case "string":
      if (typeof value !== "string") return `${name} must be a string, got ${describe(value)}`;
      return ID_FIELDS.has(name) && value.length > MAX_ID ? `${name} is ${value.length} characters long (ids are at most ${MAX_ID})` : null;
    case "int":
      if (!Number.isInteger(value)) return `${name} must be an integer, got ${describe(value)}`;
      if ((value as number) < 0 && NON_NEGATIVE.has(name)) return `${name} cannot be negative, got ${describe(value)}`;
      if (!Number.isSafeInteger(value)) return `${name} ${describe(value)} is too large to be an exact count (over 2^53)`;
      if (name === "duration_ms" && (value as number) > MAX_DURATION_MS) return `${name} ${describe(value)} is longer than ten years`;
      return null;
    case "number":
      if (!(typeof value === "number" && Number.isFinite(value))) return `${name} must be a number, got ${describe(value)}`;
      return value < 0 && NON_NEGATIVE.has(name) ? `${name} cannot be negative, got ${describe(value)}` : null;
    case "bool":
      return typeof value === "boolean" || value === 0 || value === 1
        ? null
        : `${name} must be true or false, got ${describe(value)}`;
    case "strings":
      if (!(Array.isArray(value) && value.every((x) => typeof x === "string"))) return `${name} must be an array of strings, got ${describe(value)}`;
      return value.some((x) => x.length > MAX_ID) ? `${name} holds an id over ${MAX_ID} characters long` : null;
    default: {
      const allowed = type.slice(5).split("|");
      return typeof value === "string" && allowed.includes(value)
        ? null
        : `${name} must be one of ${allowed.join(", ")}, got ${describe(value)}`;
    }
  }
}

const ISO_FAST = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ISO_ANY = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
/** Epoch milliseconds between 2001 and 2286: anything else numeric is more likely a mistake. */
const EPOCH_MS_MIN = 1e12;
const EPOCH_MS_MAX = 1e13;

/**
 * Normalises a timestamp to ISO-8601 UTC with milliseconds, or returns null when it is not
 * one: ISO-8601 with any offset (none means UTC), or epoch milliseconds.
 */
export function normaliseTimestamp(value: unknown): string | null {
  if (typeof value === "string") {
    if (ISO_FAST.test(value)) return realTime(value) ? value : null;
    if (/^\d{12,13}$/.test(value)) return normaliseTimestamp(Number(value));
    const m = ISO_ANY.exec(value.trim());
    if (!m) return null;
    let zone = m[3] ?? "Z";
    if (/^[+-]\d{2}$/.test(zone)) zone += ":00";
    else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const time = m[2] ?? "00:00:00";
    const text = `${m[1]}T${time}${zone === "z" ? "Z" : zone}`;
    if (!realTime(text)) return null;
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? null : new Date(ms).toISOString();
  }
  if (typeof value === "number" && Number.isFinite(value) && value >= EPOCH_MS_MIN && value < EPOCH_MS_MAX) {
    return new Date(Math.round(value)).toISOString();
  }
  return null;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/**
 * Whether an ISO text's date and time exist on a calendar (no month 13, no February 30, no
 * 25 o'clock): Date.parse rolls such dates over into others rather than refusing them.
 */
function realTime(iso: string): boolean {
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  const day = Number(iso.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && !leap ? 28 : DAYS[month - 1]!)) return false;
  const hour = Number(iso.slice(11, 13));
  const minute = Number(iso.slice(14, 16));
  const second = iso.length > 17 && iso[16] === ":" ? Number(iso.slice(17, 19)) : 0;
  return hour <= 23 && minute <= 59 && second <= 59;
}

/** Free text that is merely huge is kept, cut (ids were checked before; summaries are shortened when stored). */
function capText(name: string, v: string): string {
  return ID_FIELDS.has(name) || SHORTENED.has(name) ? v : cut(v, MAX_TEXT - 1) + "…";
}

export type Checked = { ok: true; event: ObsEvent } | { ok: false; reason: string };

/** Checks one parsed line against events.md. A line without `kind` but with `entry_type` is a TranscriptWriter line. */
export function checkEvent(raw: unknown): Checked {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, reason: `not a JSON object (got ${describe(raw)})` };
  }
  const obj = raw as Record<string, unknown>;
  let kind = obj.kind;
  if (kind === undefined) {
    if (obj.entry_type === undefined) return { ok: false, reason: "missing field kind" };
    kind = "transcript:entry";
  }
  if (typeof kind !== "string" || !KIND_SET.has(kind)) {
    return { ok: false, reason: `unknown kind ${describe(kind)}` };
  }
  if (typeof obj.execution_id !== "string" || obj.execution_id === "") {
    return { ok: false, reason: obj.execution_id === undefined ? "missing field execution_id" : `execution_id must be a non-empty string, got ${describe(obj.execution_id)}` };
  }
  if (obj.execution_id.length > MAX_ID) return { ok: false, reason: `execution_id is ${obj.execution_id.length} characters long (ids are at most ${MAX_ID})` };
  if (obj.timestamp === undefined) return { ok: false, reason: "missing field timestamp" };
  const timestamp = normaliseTimestamp(obj.timestamp);
  if (timestamp === null) {
    return { ok: false, reason: `timestamp does not parse: ${describe(obj.timestamp)} (use ISO-8601 or epoch milliseconds)` };
  }
  const spec = COMPILED.get(kind as Kind)!;
  for (const [name, type] of spec.required) {
    const v = obj[name];
    if (v === undefined || (v === null && type !== "any")) return { ok: false, reason: `${kind}: missing field ${name}` };
    const bad = checkType(name, v, type);
    if (bad) return { ok: false, reason: `${kind}: ${bad}` };
    if (type === "string" && (v as string).length > MAX_TEXT) obj[name] = capText(name, v as string);
  }
  for (const [name, type] of spec.optional) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    const bad = checkType(name, v, type);
    if (bad) return { ok: false, reason: `${kind}: ${bad}` };
    if (type === "string" && (v as string).length > MAX_TEXT) obj[name] = capText(name, v as string);
  }
  // The object was parsed for this call alone, so it is filled in rather than copied.
  obj.kind = kind;
  obj.timestamp = timestamp;
  return { ok: true, event: obj as ObsEvent };
}
