/**
 * The event stream of events.md: what a line must carry, checked before anything is written.
 * A line that fails names its reason; the caller adds file and line number.
 */

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
    optional: { title: "string", display_id: "string", file_path: "string", depends_on: "strings" },
  },
  "wave:status": {
    required: { wave_id: "string", wave_number: "int", status: enumOf(WAVE_STATUSES) },
    optional: { task_ids: "strings" },
  },
  "agent:heartbeat": {
    required: { instance_id: "string", status: enumOf(AGENT_STATUSES) },
    optional: { current_task_id: "string", metrics: "any", agent_type: "string" },
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

/** Returns a reason when `value` is not of `type`, else null. Booleans also accept 0/1. */
function checkType(name: string, value: unknown, type: FieldType): string | null {
  switch (type) {
    case "any":
      return null;
    case "string":
      return typeof value === "string" ? null : `${name} must be a string, got ${describe(value)}`;
    case "int":
      return Number.isInteger(value) ? null : `${name} must be an integer, got ${describe(value)}`;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? null : `${name} must be a number, got ${describe(value)}`;
    case "bool":
      return typeof value === "boolean" || value === 0 || value === 1
        ? null
        : `${name} must be true or false, got ${describe(value)}`;
    case "strings":
      return Array.isArray(value) && value.every((x) => typeof x === "string")
        ? null
        : `${name} must be an array of strings, got ${describe(value)}`;
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
    if (ISO_FAST.test(value)) return value;
    if (/^\d{12,13}$/.test(value)) return normaliseTimestamp(Number(value));
    const m = ISO_ANY.exec(value.trim());
    if (!m) return null;
    let zone = m[3] ?? "Z";
    if (/^[+-]\d{2}$/.test(zone)) zone += ":00";
    else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const time = m[2] ?? "00:00:00";
    const ms = Date.parse(`${m[1]}T${time}${zone === "z" ? "Z" : zone}`);
    return Number.isNaN(ms) ? null : new Date(ms).toISOString();
  }
  if (typeof value === "number" && Number.isFinite(value) && value >= EPOCH_MS_MIN && value < EPOCH_MS_MAX) {
    return new Date(Math.round(value)).toISOString();
  }
  return null;
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
  }
  for (const [name, type] of spec.optional) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    const bad = checkType(name, v, type);
    if (bad) return { ok: false, reason: `${kind}: ${bad}` };
  }
  // The object was parsed for this call alone, so it is filled in rather than copied.
  obj.kind = kind;
  obj.timestamp = timestamp;
  return { ok: true, event: obj as ObsEvent };
}
