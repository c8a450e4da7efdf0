import crypto from "node:crypto";
import type { DB } from "../db/open.js";
import { rowsIfPresent, tablesOf } from "../db/tables.js";

/**
 * An execution as one OTLP trace (what the OpenTelemetry file exporter writes: an
 * ExportTraceServiceRequest per line; `obs export --endpoint` sends the same over OTLP/HTTP),
 * after the GenAI semantic conventions: the execution an `invoke_workflow` span, each task an
 * `invoke_agent` span under it, each tool call an `execute_tool` span (gen_ai.tool.name,
 * gen_ai.tool.call.id) under its task, each model call a `chat` span. Every span says its
 * gen_ai.operation.name and gen_ai.provider.name and names the run in gen_ai.conversation.id.
 * Tokens follow the conventions' rule: gen_ai.usage.input_tokens counts all input, cache reads
 * and cache writes included (obs keeps the uncached part apart), with the cache parts in
 * gen_ai.usage.cache_read.input_tokens and gen_ai.usage.cache_creation.input_tokens. Failures
 * carry error.type and an error status. obs.* attributes keep what obs needs to read the trace
 * back into the same rows (its ids, statuses and cost). Ids are derived from obs's ids, so the
 * same execution exports the same trace every time.
 */

type Row = Record<string, unknown>;
type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
interface Attr { key: string; value: AnyValue }
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attr[];
  status: { code: number; message?: string };
}

const KIND_INTERNAL = 1;
const KIND_CLIENT = 3;
const STATUS_UNSET = 0;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

const hex = (text: string, bytes: number) => crypto.createHash("sha256").update(text).digest("hex").slice(0, bytes * 2);
const nanos = (iso: unknown): string | null => {
  const ms = typeof iso === "string" ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? null : (BigInt(ms) * 1_000_000n).toString();
};

function attrs(o: Record<string, unknown>): Attr[] {
  const out: Attr[] = [];
  for (const [key, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (typeof v === "boolean") out.push({ key, value: { boolValue: v } });
    else if (typeof v === "number") out.push({ key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } });
    else out.push({ key, value: { stringValue: String(v) } });
  }
  return out;
}

/** The provider of a model, by the names the providers give them (the conventions' well-known values; _OTHER else). */
export function providerOf(model: unknown): string {
  const m = String(model ?? "").toLowerCase();
  if (/claude|anthropic/.test(m)) return "anthropic";
  if (/^(gpt|o\d|chatgpt|codex|text-embedding|davinci)|openai/.test(m)) return "openai";
  if (/gemini|gemma/.test(m)) return "gcp.gemini";
  if (/mistral|codestral|mixtral/.test(m)) return "mistral_ai";
  if (/deepseek/.test(m)) return "deepseek";
  if (/grok/.test(m)) return "x_ai";
  if (/command|cohere/.test(m)) return "cohere";
  return "_OTHER";
}

export function otlpTrace(db: DB, exec: string, version: string): Record<string, unknown> {
  const traceId = hex(`obs/trace/${exec}`, 16);
  const spanId = (kind: string, id: unknown) => hex(`obs/${exec}/${kind}/${String(id)}`, 8);
  // A table the file lacks (another producer's file, an older obs's) contributes no spans.
  const tables = tablesOf(db);
  const rows = (sql: string) => rowsIfPresent<Row>(db, tables, sql, { exec });
  const spans: OtlpSpan[] = [];

  const run = rows(`SELECT * FROM task_list_execution_runs WHERE id = @exec`)[0] ?? {};
  const llm = rows(`SELECT * FROM llm_calls WHERE execution_id = @exec`);
  // The run's provider, for the spans that are not model calls: the one most of its calls went to.
  const byProvider = new Map<string, number>();
  for (const l of llm) {
    const p = l.provider ? String(l.provider) : providerOf(l.model);
    byProvider.set(p, (byProvider.get(p) ?? 0) + 1);
  }
  const runProvider = [...byProvider].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "_OTHER";
  const common = { "gen_ai.conversation.id": exec, "obs.execution_id": exec, "gen_ai.provider.name": runProvider };
  const span = rows(`SELECT MIN(timestamp) AS first, MAX(timestamp) AS last FROM transcript_entries WHERE execution_id = @exec`)[0] ?? {};
  const start = nanos(run.started_at) ?? nanos(span.first);
  const end = nanos(run.completed_at) ?? nanos(span.last) ?? start;
  if (!start || !end) return { resourceSpans: [] };
  const root = spanId("execution", exec);
  spans.push({
    traceId, spanId: root, name: `invoke_workflow ${String(run.task_list_id ?? exec)}`, kind: KIND_INTERNAL, startTimeUnixNano: start, endTimeUnixNano: end,
    attributes: attrs({ "gen_ai.operation.name": "invoke_workflow", ...common, "obs.task_list_id": run.task_list_id, "obs.status": run.status }),
    status: run.status === "failed" ? { code: STATUS_ERROR, message: String(run.message ?? "failed") } : { code: run.status === "completed" ? STATUS_OK : STATUS_UNSET },
  });

  // Tasks, with the agent that worked each; their times from the task, else from their entries.
  const taskSpan = new Map<string, string>();
  for (const t of rows(`
      SELECT t.*, (SELECT MIN(timestamp) FROM transcript_entries te WHERE te.task_id = t.id) AS first_entry,
                  (SELECT MAX(timestamp) FROM transcript_entries te WHERE te.task_id = t.id) AS last_entry,
                  (SELECT instance_id FROM transcript_entries te WHERE te.task_id = t.id AND instance_id IS NOT NULL LIMIT 1) AS agent
        FROM tasks t WHERE t.execution_id = @exec`)) {
    const s = nanos(t.started_at) ?? nanos(t.first_entry) ?? start;
    const e = nanos(t.completed_at) ?? nanos(t.last_entry) ?? s;
    const id = spanId("task", t.id);
    taskSpan.set(String(t.id), id);
    spans.push({
      traceId, spanId: id, parentSpanId: root, name: `invoke_agent ${String(t.agent ?? t.display_id ?? t.id)}`, kind: KIND_INTERNAL,
      startTimeUnixNano: s, endTimeUnixNano: BigInt(e) < BigInt(s) ? s : e,
      attributes: attrs({
        "gen_ai.operation.name": "invoke_agent", ...common, "gen_ai.agent.id": t.agent, "gen_ai.agent.name": t.agent ?? t.title, "obs.task_id": t.id,
        "obs.task.title": t.title, "obs.task.status": t.status,
      }),
      status: t.status === "failed" ? { code: STATUS_ERROR, message: "task failed" } : { code: t.status === "completed" ? STATUS_OK : STATUS_UNSET },
    });
  }
  const parentOf = (task: unknown) => (task !== null && task !== undefined && taskSpan.get(String(task))) || root;

  for (const t of rows(`
      SELECT t.*, (SELECT instance_id FROM transcript_entries te WHERE te.id = t.transcript_entry_id) AS instance_id
        FROM tool_uses t WHERE t.execution_id = @exec AND t.start_time IS NOT NULL`)) {
    const s = nanos(t.start_time)!;
    const e = nanos(t.end_time) ?? s;
    const failed = t.is_error === 1 || t.is_blocked === 1;
    spans.push({
      traceId, spanId: spanId("tool", t.id), parentSpanId: parentOf(t.task_id), name: `execute_tool ${String(t.tool)}`, kind: KIND_INTERNAL,
      startTimeUnixNano: s, endTimeUnixNano: BigInt(e) < BigInt(s) ? s : e,
      attributes: attrs({
        "gen_ai.operation.name": "execute_tool", ...common, "gen_ai.tool.name": t.tool, "gen_ai.tool.call.id": t.id, "gen_ai.tool.type": "function",
        "obs.task_id": t.task_id, "obs.instance_id": t.instance_id,
        "obs.tool.category": t.tool_category, "obs.tool.input_summary": t.input_summary, "obs.tool.result_status": t.result_status,
        "obs.skill_trace_id": t.within_skill, "obs.unfinished": t.result_status === null ? true : undefined,
        "error.type": t.is_blocked === 1 ? "blocked" : t.is_error === 1 ? "tool_error" : undefined,
      }),
      status: failed ? { code: STATUS_ERROR, message: String(t.block_reason ?? t.error_message ?? t.output_summary ?? "") } : { code: t.result_status ? STATUS_OK : STATUS_UNSET },
    });
  }
  for (const l of llm) {
    const s = nanos(l.start_time) ?? nanos(l.end_time);
    if (!s) continue;
    const e = nanos(l.end_time) ?? s;
    const n = (v: unknown) => (typeof v === "number" ? v : 0);
    const writes = n(l.cache_write_tokens) + n(l.cache_write_1h_tokens);
    spans.push({
      traceId, spanId: spanId("llm", l.id), parentSpanId: parentOf(l.task_id), name: `chat ${String(l.model)}`, kind: KIND_CLIENT,
      startTimeUnixNano: s, endTimeUnixNano: BigInt(e) < BigInt(s) ? s : e,
      attributes: attrs({
        "gen_ai.operation.name": "chat", ...common, "gen_ai.provider.name": l.provider ?? providerOf(l.model),
        "gen_ai.request.model": l.model, "gen_ai.response.model": l.model, "gen_ai.response.id": l.response_id,
        "gen_ai.usage.input_tokens": n(l.input_tokens) + n(l.cache_read_tokens) + writes, "gen_ai.usage.output_tokens": l.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": l.cache_read_tokens, "gen_ai.usage.cache_creation.input_tokens": writes,
        "gen_ai.usage.reasoning.output_tokens": l.reasoning_tokens || undefined,
        "obs.usage.cache_write_1h_tokens": l.cache_write_1h_tokens || undefined,
        "obs.cost_usd": l.cost_usd, "obs.llm_call_id": l.id, "obs.task_id": l.task_id, "obs.instance_id": l.instance_id,
      }),
      status: { code: STATUS_UNSET },
    });
  }
  return {
    resourceSpans: [{
      resource: { attributes: attrs({ "service.name": "obs", "obs.execution_id": exec }) },
      scopeSpans: [{ scope: { name: "obs", version }, spans }],
    }],
  };
}
