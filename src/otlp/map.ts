import type { PriceTable } from "../pricing.js";
import { byTime, hashId, tableCost, type CallTokens } from "../ingest/adapters/shared.js";
import { oneLine, summariseInput } from "../ingest/shape.js";
import { parseJson } from "../ingest/text.js";
import type { Attrs, ExportRequest, LogItem, SpanItem, Value } from "./decode.js";

/**
 * What OpenTelemetry says, as obs events (docs/events.md): the one mapping that both `obs serve`'s
 * OTLP receiver and `obs ingest` of OTLP JSON files use, so a record becomes the same rows
 * however it arrives. The events are folded by ingest's Folder like any other source's.
 *
 * - Claude Code's log events (`claude_code.*`): a session (`session.id`) is an execution, a
 *   prompt (`prompt.id`) a task, `tool_result` a tool call (name, duration, success, error, a
 *   rejection), `api_request` a model call with its tokens and cost, `api_error` an error entry,
 *   `tool_decision` a decision entry (a rejected call blocked). Its beta traces: an
 *   `interaction` is the prompt's task, `llm_request` a model call, `tool` a tool call, nested
 *   under the Task call that started a subagent.
 * - Codex's log events (`codex.*`, by `conversation.id`): prompts, tool decisions and results,
 *   `sse_event` `response.completed` a model call, a failed `api_request` an error.
 * - Spans after the GenAI semantic conventions, by `gen_ai.operation.name`: `invoke_workflow`
 *   the execution, `invoke_agent` a task and its agent, `execute_tool` a tool call, `chat` (and
 *   the other inference operations) a model call; parents kept.
 *
 * Every row's id comes from what the producer sent (a tool_use_id, a request id, a span id, a
 * session's event sequence, else a hash of the record), so an export sent again adds nothing.
 */

type J = Record<string, unknown>;

export interface MapContext {
  prices: PriceTable;
  /** An execution's prompt still open from before this request (its task id and start), to close when the next starts. */
  openPrompt?: (exec: string) => { id: string; at: string } | null;
  /** Where earlier requests' traces and spans belong: a trace's spans come in several exports. */
  memory?: SpanMemory;
}

export interface MapResult {
  events: J[];
  /** For each event, the index of the record or span it came from. */
  origins: number[];
  /** Records (logs), spans (traces) or data points (metrics) in the request. */
  items: number;
  /** Items that became rows. */
  kept: number;
  /** Items obs could not place, by reason. */
  rejected: Map<string, number>;
  /** Items that carry nothing obs keeps, by what they are. */
  notKept: Map<string, number>;
  /** Executions the request wrote for, and whose record they are. */
  executions: Map<string, string>;
}

/** What a span is in obs's terms, remembered so a child exported later still finds its task, agent and calling tool. */
interface SpanRole {
  exec: string;
  task?: string;
  agent?: string;
  tool?: string;
  /** A Claude Code tool span: what its nested spans run under (a subagent). */
  claudeTool?: boolean;
}

/** A bounded memory of traces and spans across requests (the oldest forgotten first). */
export class SpanMemory {
  private readonly traces = new Map<string, string>();
  private readonly spans = new Map<string, SpanRole>();
  /** Spans that came before their parent (a parent is exported when it ends, after its children), by parent span id. */
  private readonly orphans = new Map<string, SpanItem[]>();
  private orphanCount = 0;
  constructor(private readonly max = 50_000) {}
  addOrphan(parent: string, span: SpanItem): void {
    if (this.orphanCount >= this.max) {
      const [oldest, list] = this.orphans.entries().next().value!;
      this.orphans.delete(oldest);
      this.orphanCount -= list.length;
    }
    const list = this.orphans.get(parent) ?? [];
    if (list.some((x) => x.spanId === span.spanId)) return;
    list.push(span);
    this.orphans.set(parent, list);
    this.orphanCount++;
  }
  takeOrphans(parent: string): SpanItem[] {
    const list = this.orphans.get(parent) ?? [];
    this.orphans.delete(parent);
    this.orphanCount -= list.length;
    return list;
  }
  trace(id: string): string | undefined {
    return this.traces.get(id);
  }
  setTrace(id: string, exec: string): void {
    remember(this.traces, id, exec, this.max);
  }
  span(id: string): SpanRole | undefined {
    return this.spans.get(id);
  }
  setSpan(id: string, role: SpanRole): void {
    remember(this.spans, id, role, this.max);
  }
}

const str = (v: Value | undefined): string | undefined => (typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined);
/** A count or measure that producers send as a number or as numeric text. */
const num = (v: Value | undefined): number | undefined => {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const count = (v: Value | undefined): number => {
  const n = num(v);
  return n !== undefined && n > 0 ? Math.round(n) : 0;
};
const bool = (v: Value | undefined): boolean | undefined => (v === true || v === "true" ? true : v === false || v === "false" ? false : undefined);
/** A time no Date can hold (a nanosecond count of 1e30, a start a duration of 1e300 before its end). */
class TimeOutOfRange extends Error {}
/** The largest time a Date holds, in ms either side of 1970. */
const MAX_MS = 8.64e15;
const inRange = (ms: number) => Number.isFinite(ms) && Math.abs(ms) <= MAX_MS;
const iso = (ms: number) => {
  if (!inRange(ms)) throw new TimeOutOfRange();
  return new Date(ms).toISOString();
};
const REDACTED = /^<?redacted>?$/i;
/** What a tool call is known by when its producer logged none of its input (Claude Code's default). */
const NOT_LOGGED = "(input not logged)";

/** A JSON text attribute (tool_parameters, arguments) as what it holds; other text as itself. */
function parsed(v: Value | undefined): unknown {
  if (typeof v !== "string") return v ?? undefined;
  try {
    return parseJson(v);
  } catch {
    return v;
  }
}

/** The name a person knows a tool call by, from the parameters Claude Code or Codex log. */
function inputSummary(input: unknown): string {
  if (input && typeof input === "object" && !Array.isArray(input)) {
    const o = input as J;
    for (const k of ["full_command", "bash_command", "command", "file_path", "pattern", "url", "skill_name"]) {
      if (typeof o[k] === "string" && o[k] !== "") return oneLine(o[k] as string);
      // Codex runs a command as its argv, often through a shell: ["bash", "-lc", "npm test"].
      if (Array.isArray(o[k]) && (o[k] as unknown[]).length && (o[k] as unknown[]).every((x) => typeof x === "string")) {
        const argv = o[k] as string[];
        return oneLine(/^(ba|z|da)?sh$/.test(argv[0]!.split("/").pop()!) && /^-l?c$/.test(argv[1] ?? "") && argv.length === 3 ? argv[2]! : argv.join(" "));
      }
    }
    if (typeof o.mcp_server_name === "string") return `${o.mcp_server_name}/${String(o.mcp_tool_name ?? "")}`;
    if (Object.keys(o).length === 0) return "";
  }
  return summariseInput(input);
}

/** The producer's name of a log record's event: its own event name, else Claude Code's body or Codex's event.name. */
export function eventNameOf(l: LogItem): string {
  const attr = str(l.attrs["event.name"]);
  const body = typeof l.body === "string" ? l.body : undefined;
  for (const c of [l.eventName, attr, body]) if (c && /^(claude_code|codex)\./.test(c)) return c;
  if (attr && /claude/i.test(String(l.resource["service.name"] ?? ""))) return `claude_code.${attr}`;
  return l.eventName ?? attr ?? (body && body.length <= 80 && !/\s/.test(body) ? body : "") ?? "";
}

/** Tokens of a model call whose producer counts input the GenAI way (cache reads and writes included). */
function conventionTokens(model: string, total: number, cacheRead: number, cacheWrite: number, write1h: number, output: number, reasoning: number): CallTokens {
  // The conventions count every input token in gen_ai.usage.input_tokens; obs keeps the uncached
  // part. A producer whose total is smaller than its cache parts did not include them.
  const uncached = total - cacheRead - cacheWrite >= 0 ? total - cacheRead - cacheWrite : total;
  const w1h = Math.min(write1h, cacheWrite);
  return {
    model, input_tokens: uncached, output_tokens: output, cache_read_tokens: cacheRead, cache_write_tokens: cacheWrite - w1h,
    cache_write_1h_tokens: w1h, reasoning_tokens: Math.min(reasoning, output),
  };
}

function llmFields(t: CallTokens, prices: PriceTable, cost: number | undefined): J {
  const priced = cost ?? tableCost(prices, t) ?? undefined;
  return {
    model: t.model, input_tokens: t.input_tokens, output_tokens: t.output_tokens, cache_read_tokens: t.cache_read_tokens,
    cache_write_tokens: t.cache_write_tokens,
    ...(t.cache_write_1h_tokens ? { cache_write_1h_tokens: t.cache_write_1h_tokens } : {}),
    ...(t.reasoning_tokens ? { reasoning_tokens: t.reasoning_tokens } : {}),
    ...(priced !== undefined ? { cost_usd: priced } : {}),
  };
}

const INFERENCE = new Set(["chat", "text_completion", "generate_content", "embeddings"]);
const GENAI_OPS = new Set([...INFERENCE, "invoke_workflow", "invoke_agent", "create_agent", "execute_tool"]);

class Mapper {
  readonly result: MapResult = { events: [], origins: [], items: 0, kept: 0, rejected: new Map(), notKept: new Map(), executions: new Map() };
  private origin = 0;
  private produced = false;
  /** Per execution: the agents seen and the span of times, for one heartbeat and one status per request. */
  private readonly seen = new Map<string, { first: number; last: number; agents: Map<string, { at: number; type: string; task?: string }> }>();
  private readonly prompts = new Map<string, { id: string; at: string }>();

  constructor(private readonly ctx: MapContext) {}

  private ev(kind: string, exec: string, ms: number, fields: J): void {
    this.result.events.push({ kind, execution_id: exec, timestamp: iso(ms), ...fields });
    this.result.origins.push(this.origin);
    this.produced = true;
  }

  private note(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private begin(i: number): void {
    this.origin = i;
    this.produced = false;
  }

  /**
   * Maps one record; one whose duration puts a time out of any calendar is rejected whole,
   * the events it had made taken back, and the request goes on.
   */
  private item(map: () => void): void {
    const events = this.result.events.length;
    try {
      map();
    } catch (e) {
      if (!(e instanceof TimeOutOfRange)) throw e;
      this.result.events.length = events;
      this.result.origins.length = events;
      this.produced = false;
      this.note(this.result.rejected, "a duration that puts its start before any calendar");
    }
  }

  private end(): void {
    if (this.produced) this.result.kept++;
  }

  private touch(exec: string, producer: string, ms: number, agent?: string, agentType?: string, task?: string): void {
    if (!this.result.executions.has(exec)) this.result.executions.set(exec, producer);
    let s = this.seen.get(exec);
    if (!s) this.seen.set(exec, (s = { first: ms, last: ms, agents: new Map() }));
    s.first = Math.min(s.first, ms);
    s.last = Math.max(s.last, ms);
    if (agent) {
      const a = s.agents.get(agent);
      if (!a || a.at <= ms) s.agents.set(agent, { at: ms, type: agentType ?? a?.type ?? "main", task: task ?? a?.task });
    }
  }

  /** A prompt starts its task, and ends the one before it in the same execution. */
  private prompt(exec: string, ms: number, taskId: string, text: string | undefined, length: number | undefined, agent: string, entryId: string): void {
    const at = iso(ms);
    const prev = this.prompts.get(exec) ?? this.ctx.openPrompt?.(exec) ?? null;
    if (prev && prev.id !== taskId && prev.at < at) this.ev("task:status", exec, ms, { task_id: prev.id, status: "completed" });
    if (!prev || prev.at <= at) this.prompts.set(exec, { id: taskId, at });
    const shown = text && !REDACTED.test(text) ? text : `(prompt not logged${length !== undefined ? `; ${length} characters` : ""})`;
    this.ev("task:status", exec, ms, { task_id: taskId, status: "running", title: oneLine(shown), display_id: "prompt", instance_id: agent });
    this.ev("transcript:entry", exec, ms, { entry_id: entryId, entry_type: "task_start", category: "user", summary: shown, task_id: taskId, instance_id: agent });
  }

  /** The prompt a Codex record belongs to: the last one seen for its execution. */
  private currentPrompt(exec: string): string | undefined {
    return (this.prompts.get(exec) ?? this.ctx.openPrompt?.(exec) ?? undefined)?.id;
  }

  /** Closes the request: an execution status and one heartbeat per agent it heard of. */
  finish(): MapResult {
    for (const [exec, s] of this.seen) {
      const producer = this.result.executions.get(exec);
      this.origin = -1;
      if (producer !== "workflow") this.ev("execution:status", exec, s.first, { status: "running" });
      for (const [agent, a] of s.agents) {
        this.ev("agent:heartbeat", exec, a.at, { instance_id: agent, status: "working", agent_type: a.type, ...(a.task ? { current_task_id: a.task } : {}) });
      }
    }
    // Folded in time order, the order they happened in (an entry's sequence follows it).
    const order = byTime(this.result.events.map((e, i) => ({ ...e, _i: i })));
    this.result.origins = order.map((e) => this.result.origins[e._i as number]!);
    this.result.events = order.map(({ _i, ...e }) => e);
    return this.result;
  }

  // ---- logs ----------------------------------------------------------------------------

  logs(items: LogItem[]): void {
    this.result.items += items.length;
    // Records in the order their producer made them: by time, then by its event sequence.
    const order = items.map((l, i) => ({ l, i })).sort((a, b) => (a.l.time ?? 0) - (b.l.time ?? 0) || (num(a.l.attrs["event.sequence"]) ?? 0) - (num(b.l.attrs["event.sequence"]) ?? 0) || a.i - b.i);
    for (const { l, i } of order) {
      this.begin(i);
      const name = eventNameOf(l);
      const ms = l.time ?? Date.parse(str(l.attrs["event.timestamp"]) ?? "");
      if (!Number.isFinite(ms)) {
        this.note(this.result.rejected, "no time (timeUnixNano, observedTimeUnixNano or event.timestamp)");
        continue;
      }
      if (!inRange(ms)) {
        this.note(this.result.rejected, "a time no calendar holds");
        continue;
      }
      this.item(() => {
        if (name.startsWith("claude_code.")) this.claudeLog(l, name, ms);
        else if (name.startsWith("codex.")) this.codexLog(l, name, ms);
        else this.genericLog(l, name, ms);
      });
      this.end();
    }
  }

  private key(exec: string, l: LogItem, name: string, ms: number): string {
    const seq = num(l.attrs["event.sequence"]);
    return seq !== undefined ? `${exec}/e${seq}` : `${exec}/r-${hashId(name, ms, l.attrs, l.body)}`;
  }

  private claudeLog(l: LogItem, name: string, ms: number): void {
    const a = l.attrs;
    const exec = str(a["session.id"]) ?? str(l.resource["session.id"]);
    if (!exec) return this.note(this.result.rejected, `${name} without session.id`);
    const key = this.key(exec, l, name, ms);
    const agentId = str(a.agent_id);
    const agent = agentId ? `${exec}/agent-${agentId}` : `${exec}/main`;
    const task = str(a["prompt.id"]);
    const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
    const kind = name.slice("claude_code.".length);
    const touch = () => this.touch(exec, "Claude Code", ms, agent, agentId ? "subagent" : "main", task);
    switch (kind) {
      case "user_prompt":
        touch();
        return this.prompt(exec, ms, task ?? `${key}#prompt`, str(a.prompt), num(a.prompt_length), agent, key);
      case "tool_result": {
        touch();
        const id = str(a.tool_use_id) ?? `${key}#tool`;
        const tool = str(a.tool_name) ?? "unknown";
        const duration = count(a.duration_ms);
        const input = parsed(a.tool_input) ?? parsed(a.tool_parameters) ?? {};
        const failed = bool(a.success) === false;
        const error = str(a.error);
        this.ev("tool:start", exec, ms - duration, { ...common, tool_use_id: id, tool, input, input_summary: inputSummary(input) || NOT_LOGGED, entry_id: `${id}#call` });
        const decision = str(a.decision_type) ?? str(a.decision);
        if (decision === "reject") {
          this.ev("tool:blocked", exec, ms, { ...common, tool_use_id: id, reason: `rejected (${str(a.decision_source) ?? str(a.source) ?? "unknown source"})` });
          return;
        }
        const size = num(a.tool_result_size_bytes);
        this.ev("tool:end", exec, ms, {
          ...common, tool_use_id: id, is_error: failed,
          ...(error ? { error_message: error, output_summary: error } : size !== undefined ? { output_summary: `(output not logged; ${size} bytes)` } : {}),
          ...(a.tool_output !== undefined ? { output: parsed(a.tool_output) } : {}),
        });
        return;
      }
      case "tool_decision": {
        touch();
        const tool = str(a.tool_name) ?? "unknown";
        const decision = str(a.decision) ?? "unknown";
        const source = str(a.source) ?? str(a.decision_source) ?? "unknown";
        const toolUseId = str(a.tool_use_id);
        this.ev("transcript:entry", exec, ms, {
          ...common, entry_id: key, entry_type: "decision", category: "permission", summary: `${tool}: ${decision} (${source})`,
          details: { options: ["accept", "reject"], chosen: decision, reason: source, tool_name: tool, ...(toolUseId ? { tool_use_id: toolUseId } : {}) },
        });
        if (decision === "reject" && toolUseId) {
          this.ev("tool:start", exec, ms, { ...common, tool_use_id: toolUseId, tool, input: {}, input_summary: NOT_LOGGED, entry_id: `${toolUseId}#call` });
          this.ev("tool:blocked", exec, ms, { ...common, tool_use_id: toolUseId, reason: `rejected (${source})` });
        }
        return;
      }
      case "api_request": {
        touch();
        const requestId = str(a.request_id);
        const tokens: CallTokens = {
          model: str(a.model) ?? "unknown", input_tokens: count(a.input_tokens), output_tokens: count(a.output_tokens),
          cache_read_tokens: count(a.cache_read_tokens), cache_write_tokens: count(a.cache_creation_tokens), cache_write_1h_tokens: 0, reasoning_tokens: 0,
        };
        this.ev("llm:call", exec, ms, {
          ...common, id: requestId ? `${exec}/${requestId}` : `${key}#llm`, ...(requestId ? { response_id: requestId } : {}), provider: "anthropic",
          ...llmFields(tokens, this.ctx.prices, num(a.cost_usd)), ...(num(a.duration_ms) !== undefined ? { duration_ms: count(a.duration_ms) } : {}),
        });
        return;
      }
      case "api_error": {
        touch();
        const status = str(a.status_code);
        const error = str(a.error) ?? "unknown error";
        this.ev("transcript:entry", exec, ms, {
          ...common, entry_id: key, entry_type: "error", category: "api_error", summary: `API error${status && status !== "undefined" ? ` ${status}` : ""}: ${error}`,
          details: { model: str(a.model), status_code: status, attempt: num(a.attempt), duration_ms: num(a.duration_ms), request_id: str(a.request_id) },
          ...(num(a.duration_ms) !== undefined ? { duration_ms: count(a.duration_ms) } : {}),
        });
        return;
      }
      default:
        return this.note(this.result.notKept, name);
    }
  }

  private codexLog(l: LogItem, name: string, ms: number): void {
    const a = l.attrs;
    const exec = str(a["conversation.id"]) ?? str(a.conversation_id) ?? str(l.resource["conversation.id"]);
    if (!exec) return this.note(this.result.rejected, `${name} without conversation.id`);
    const key = this.key(exec, l, name, ms);
    const agent = `${exec}/main`;
    const touch = (task?: string) => this.touch(exec, "Codex", ms, agent, "main", task);
    switch (name) {
      case "codex.conversation_starts":
        touch();
        this.ev("transcript:entry", exec, ms, {
          instance_id: agent, entry_id: key, entry_type: "checkpoint", category: "session",
          summary: `Codex session started (${str(a.model) ?? "model unknown"}${str(a.provider_name) ? `, ${str(a.provider_name)}` : ""})`,
          details: { model: str(a.model), provider_name: str(a.provider_name), approval_policy: str(a.approval_policy), sandbox_policy: str(a.sandbox_policy), reasoning_effort: str(a.reasoning_effort) },
        });
        return;
      case "codex.user_prompt": {
        const task = `${key}#prompt`;
        touch(task);
        return this.prompt(exec, ms, task, str(a.prompt), num(a.prompt_length), agent, key);
      }
      case "codex.tool_result": {
        const task = this.currentPrompt(exec);
        touch(task);
        const id = str(a.call_id) ?? `${key}#tool`;
        const duration = count(a.duration_ms);
        const input = parsed(a.arguments) ?? {};
        const failed = bool(a.success) === false;
        const output = str(a.output);
        const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
        this.ev("tool:start", exec, ms - duration, { ...common, tool_use_id: id, tool: str(a.tool_name) ?? "unknown", input, input_summary: inputSummary(input) || NOT_LOGGED, entry_id: `${id}#call` });
        this.ev("tool:end", exec, ms, { ...common, tool_use_id: id, is_error: failed, ...(output !== undefined ? { output } : {}), ...(failed && output ? { error_message: output.slice(0, 2000) } : {}) });
        return;
      }
      case "codex.tool_decision": {
        const task = this.currentPrompt(exec);
        touch(task);
        const tool = str(a.tool_name) ?? "unknown";
        const decision = str(a.decision) ?? "unknown";
        const source = str(a.source) ?? "unknown";
        const callId = str(a.call_id);
        const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
        this.ev("transcript:entry", exec, ms, {
          ...common, entry_id: key, entry_type: "decision", category: "permission", summary: `${tool}: ${decision} (${source})`,
          details: { options: ["approved", "approved_for_session", "denied", "abort"], chosen: decision, reason: source, tool_name: tool, ...(callId ? { call_id: callId } : {}) },
        });
        if ((decision === "denied" || decision === "abort") && callId) {
          this.ev("tool:start", exec, ms, { ...common, tool_use_id: callId, tool, input: {}, input_summary: NOT_LOGGED, entry_id: `${callId}#call` });
          this.ev("tool:blocked", exec, ms, { ...common, tool_use_id: callId, reason: `${decision} (${source})` });
        }
        return;
      }
      case "codex.sse_event": {
        if (str(a["event.kind"]) !== "response.completed" || a.input_token_count === undefined) return this.note(this.result.notKept, `codex.sse_event ${str(a["event.kind"]) ?? ""}`.trim());
        const task = this.currentPrompt(exec);
        touch(task);
        // OpenAI counts cached input inside input tokens; obs keeps the uncached part.
        const cached = count(a.cached_token_count);
        const input = count(a.input_token_count);
        const output = count(a.output_token_count);
        const tokens: CallTokens = {
          model: str(a.model) ?? "unknown", input_tokens: Math.max(0, input - cached), output_tokens: output, cache_read_tokens: Math.min(cached, input),
          cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: Math.min(count(a.reasoning_token_count), output),
        };
        this.ev("llm:call", exec, ms, {
          instance_id: agent, ...(task ? { task_id: task } : {}), id: `${key}#llm`, provider: "openai",
          ...llmFields(tokens, this.ctx.prices, undefined), ...(num(a.duration_ms) !== undefined ? { duration_ms: count(a.duration_ms) } : {}),
        });
        return;
      }
      case "codex.api_request": {
        const status = num(a["http.response.status_code"]);
        const error = str(a["error.message"]);
        if (!error && (status === undefined || status < 400)) return this.note(this.result.notKept, name);
        const task = this.currentPrompt(exec);
        touch(task);
        this.ev("transcript:entry", exec, ms, {
          instance_id: agent, ...(task ? { task_id: task } : {}), entry_id: key, entry_type: "error", category: "api_error",
          summary: `API error${status !== undefined ? ` ${status}` : ""}: ${error ?? "request failed"}`,
          details: { status_code: status, attempt: num(a.attempt), duration_ms: num(a.duration_ms), model: str(a.model) },
        });
        return;
      }
      default:
        return this.note(this.result.notKept, name);
    }
  }

  /** A log record of another producer: an entry of the run its conversation or session names. */
  private genericLog(l: LogItem, name: string, ms: number): void {
    const a = l.attrs;
    const exec = str(a["gen_ai.conversation.id"]) ?? str(a["session.id"]) ?? str(l.resource["session.id"]) ?? str(a["conversation.id"]);
    const label = name || (l.scope ? `a log record of ${l.scope}` : "a log record");
    if (!exec) return this.note(this.result.rejected, `${label} without gen_ai.conversation.id or session.id`);
    const key = this.key(exec, l, name, ms);
    this.touch(exec, String(l.resource["service.name"] ?? "OpenTelemetry"), ms);
    const text = typeof l.body === "string" ? l.body : l.body !== null ? JSON.stringify(l.body) : name || "log record";
    const error = /^(error|fatal)/i.test(l.severity ?? "");
    this.ev("transcript:entry", exec, ms, {
      entry_id: key, entry_type: error ? "error" : "log", category: name || l.scope || "log", summary: text, details: { ...a, ...(l.severity ? { severity: l.severity } : {}) },
    });
  }

  // ---- spans ---------------------------------------------------------------------------

  spans(items: SpanItem[]): void {
    this.result.items += items.length;
    const byId = new Map(items.map((s, i) => [s.spanId, { s, i }]));
    const memory = this.ctx.memory ?? new SpanMemory();
    // A trace's execution: what any of its spans names, else what an earlier request learnt, else the trace itself.
    const traceExec = new Map<string, string>();
    for (const s of items) {
      const named = str(s.attrs["obs.execution_id"]) ?? str(s.attrs["gen_ai.conversation.id"]) ?? str(s.attrs["session.id"]) ?? str(s.attrs["conversation.id"]) ?? str(s.resource["session.id"]);
      if (named && !traceExec.has(s.traceId)) traceExec.set(s.traceId, named);
    }
    const execOf = (s: SpanItem): string =>
      str(s.attrs["obs.execution_id"]) ?? str(s.attrs["gen_ai.conversation.id"]) ?? str(s.attrs["session.id"]) ?? str(s.attrs["conversation.id"]) ??
      traceExec.get(s.traceId) ?? memory.trace(s.traceId) ?? `trace-${s.traceId}`;
    const roles = new Map<string, SpanRole>();
    const roleOf = (id: string | null, depth = 0): SpanRole | undefined => {
      if (!id || depth > 256) return undefined;
      const known = roles.get(id);
      if (known) return known;
      const here = byId.get(id);
      if (!here) return memory.span(id);
      const parent = roleOf(here.s.parentSpanId, depth + 1);
      const role = this.roleFor(here.s, execOf(here.s), parent);
      roles.set(id, role);
      return role;
    };
    // Parents first, so a child's task and agent are known when it is mapped.
    const order = items.map((s, i) => ({ s, i })).sort((a, b) => a.s.start - b.s.start || a.s.end - b.s.end || a.i - b.i);
    for (const { s, i } of order) {
      this.begin(i);
      if (!inRange(s.start) || !inRange(s.end)) {
        this.note(this.result.rejected, "a span whose start or end no calendar holds");
        continue;
      }
      const exec = execOf(s);
      const parent = roleOf(s.parentSpanId);
      const role = roleOf(s.spanId)!;
      this.item(() => this.span(s, exec, parent, role));
      memory.setSpan(s.spanId, role);
      memory.setTrace(s.traceId, exec);
      if (s.parentSpanId && !parent) memory.addOrphan(s.parentSpanId, s);
      this.adopt(s.spanId, role, memory);
      this.end();
    }
  }

  /**
   * The spans that came before this one, their parent: mapped again now that their task, agent
   * and calling tool are known (the same ids, so their rows are completed, not repeated), and
   * theirs after them.
   */
  private adopt(spanId: string, role: SpanRole, memory: SpanMemory, depth = 0): void {
    if (depth > 64) return;
    for (const child of memory.takeOrphans(spanId)) {
      // A child already placed in another run (it named none, its parent does) stays where it is.
      if (memory.span(child.spanId)?.exec !== role.exec) continue;
      const childRole = this.roleFor(child, role.exec, role);
      this.span(child, role.exec, role, childRole);
      memory.setSpan(child.spanId, childRole);
      this.adopt(child.spanId, childRole, memory, depth + 1);
    }
  }

  private opOf(s: SpanItem): string | undefined {
    const op = str(s.attrs["gen_ai.operation.name"]);
    if (op) return op;
    const first = s.name.split(" ")[0]!;
    return GENAI_OPS.has(first) ? first : undefined;
  }

  /** What a span stands for, given its parent's: the task, agent and tool its children run under. */
  private roleFor(s: SpanItem, exec: string, parent: SpanRole | undefined): SpanRole {
    const a = s.attrs;
    const inherited: SpanRole = { exec, task: parent?.task, agent: parent?.agent, tool: parent?.tool };
    if (s.name.startsWith("claude_code.")) {
      const kind = s.name.slice("claude_code.".length);
      if (kind === "interaction") return { ...inherited, task: str(a["prompt.id"]) ?? `${exec}/interaction-${s.spanId}`, agent: `${exec}/main` };
      if (kind === "tool") return { ...inherited, tool: str(a.tool_use_id) ?? `${exec}/tool-${s.spanId}`, claudeTool: true };
      return inherited;
    }
    const op = this.opOf(s);
    if (op === "invoke_agent" || op === "create_agent") {
      return { ...inherited, task: str(a["obs.task_id"]) ?? `${exec}/agent-span-${s.spanId}`, agent: str(a["gen_ai.agent.id"]) ?? `${exec}/agent-${s.spanId}` };
    }
    if (op === "execute_tool") return { ...inherited, tool: str(a["gen_ai.tool.call.id"]) ?? `${exec}/tool-${s.spanId}` };
    return inherited;
  }

  private span(s: SpanItem, exec: string, parent: SpanRole | undefined, role: SpanRole): void {
    const a = s.attrs;
    if (s.name.startsWith("claude_code.")) return this.claudeSpan(s, exec, parent, role);
    const op = this.opOf(s);
    const failed = s.status.code === 2;
    const task = str(a["obs.task_id"]) ?? parent?.task;
    const agent = str(a["obs.instance_id"]) ?? parent?.agent;
    const common = { ...(agent ? { instance_id: agent } : {}), ...(task ? { task_id: task } : {}) };
    const producer = String(s.resource["service.name"] ?? s.scope ?? "GenAI");
    if (!op || !GENAI_OPS.has(op)) return this.note(this.result.notKept, `span ${s.name}${op ? ` (${op})` : ""}`);
    switch (op) {
      case "invoke_workflow": {
        this.result.executions.set(exec, "workflow");
        this.touch(exec, "workflow", s.start);
        const status = str(a["obs.status"]) ?? (failed ? "failed" : "completed");
        this.ev("execution:status", exec, s.start, { status: "running", ...(str(a["obs.task_list_id"]) ? { task_list_id: str(a["obs.task_list_id"]) } : {}) });
        if (status !== "running" && status !== "started") {
          this.ev("execution:status", exec, s.end, { status: ["paused", "completed", "failed"].includes(status) ? status : failed ? "failed" : "completed", ...(s.status.message ? { message: s.status.message } : {}) });
        }
        return;
      }
      case "invoke_agent":
      case "create_agent": {
        const agentName = str(a["gen_ai.agent.name"]);
        this.touch(exec, producer, s.start, role.agent, agentName ?? "agent", role.task);
        const status = str(a["obs.task.status"]) ?? (failed ? "failed" : "completed");
        this.ev("task:status", exec, s.start, { task_id: role.task, status: "running", title: oneLine(str(a["obs.task.title"]) ?? agentName ?? s.name), instance_id: role.agent });
        if (status !== "running" && status !== "pending") this.ev("task:status", exec, s.end, { task_id: role.task, status: ["completed", "failed", "blocked", "skipped"].includes(status) ? status : failed ? "failed" : "completed" });
        return;
      }
      case "execute_tool": {
        this.touch(exec, producer, s.start, agent, undefined, task);
        const id = role.tool!;
        const input = parsed(a["gen_ai.tool.call.arguments"]) ?? {};
        const result = a["gen_ai.tool.call.result"];
        const tool = str(a["gen_ai.tool.name"]) ?? (s.name.replace(/^execute_tool\s*/, "") || "unknown");
        this.ev("tool:start", exec, s.start, {
          ...common, tool_use_id: id, tool, input, input_summary: typeof a["obs.tool.input_summary"] === "string" ? a["obs.tool.input_summary"] : inputSummary(input) || NOT_LOGGED, entry_id: `${id}#call`,
          ...(str(a["obs.tool.category"]) ? { tool_category: str(a["obs.tool.category"]) } : {}),
          ...(parent?.tool && parent.tool !== id ? { parent_tool_use_id: parent.tool } : {}),
        });
        const resultStatus = str(a["obs.tool.result_status"]);
        // obs marks a call it saw start but not end; every other span that was exported has ended.
        if (a["obs.unfinished"] === true) return;
        if (resultStatus === "blocked" || str(a["error.type"]) === "blocked") {
          this.ev("tool:blocked", exec, s.end, { ...common, tool_use_id: id, reason: s.status.message ?? "blocked" });
          return;
        }
        const isError = failed || resultStatus === "error" || Boolean(str(a["error.type"]));
        this.ev("tool:end", exec, s.end, {
          ...common, tool_use_id: id, is_error: isError, ...(result !== undefined ? { output: parsed(result) } : {}),
          ...(isError && s.status.message ? { error_message: s.status.message, output_summary: s.status.message } : {}),
        });
        return;
      }
      default: {
        // chat, text_completion, generate_content, embeddings: a model call.
        this.touch(exec, producer, s.start, agent, undefined, task);
        const model = str(a["gen_ai.response.model"]) ?? str(a["gen_ai.request.model"]) ?? "unknown";
        const tokens = conventionTokens(
          model, count(a["gen_ai.usage.input_tokens"]), count(a["gen_ai.usage.cache_read.input_tokens"]), count(a["gen_ai.usage.cache_creation.input_tokens"]),
          count(a["obs.usage.cache_write_1h_tokens"]), count(a["gen_ai.usage.output_tokens"]), count(a["gen_ai.usage.reasoning.output_tokens"]),
        );
        const responseId = str(a["gen_ai.response.id"]);
        this.ev("llm:call", exec, s.end, {
          ...common, id: str(a["obs.llm_call_id"]) ?? (responseId ? `${exec}/${responseId}` : `${exec}/span-${s.spanId}`), ...(responseId ? { response_id: responseId } : {}),
          ...(str(a["gen_ai.provider.name"]) ?? str(a["gen_ai.system"]) ? { provider: str(a["gen_ai.provider.name"]) ?? str(a["gen_ai.system"]) } : {}),
          ...llmFields(tokens, this.ctx.prices, num(a["obs.cost_usd"])), duration_ms: Math.max(0, s.end - s.start),
        });
        if (failed) {
          this.ev("transcript:entry", exec, s.end, {
            ...common, entry_id: `${exec}/span-${s.spanId}#error`, entry_type: "error", category: "api_error",
            summary: `${s.name} failed: ${s.status.message ?? str(a["error.type"]) ?? "error"}`, details: { model, error_type: str(a["error.type"]) },
          });
        }
        return;
      }
    }
  }

  private claudeSpan(s: SpanItem, exec: string, parent: SpanRole | undefined, role: SpanRole): void {
    const a = s.attrs;
    const kind = s.name.slice("claude_code.".length);
    const agentId = str(a.agent_id);
    // A subagent's spans nest under the Task call that started it.
    const agent = agentId ? `${exec}/agent-${agentId}` : parent?.claudeTool && parent.tool ? `${exec}/agent-${parent.tool}` : `${exec}/main`;
    const agentType = agent === `${exec}/main` ? "main" : "subagent";
    const task = str(a["prompt.id"]) ?? parent?.task;
    const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
    switch (kind) {
      case "interaction": {
        this.touch(exec, "Claude Code", s.start, agent, agentType, role.task);
        const prompt = str(a.user_prompt);
        const shown = prompt && !REDACTED.test(prompt) ? prompt : `(prompt not logged${num(a.user_prompt_length) !== undefined ? `; ${num(a.user_prompt_length)} characters` : ""})`;
        this.ev("task:status", exec, s.start, { task_id: role.task, status: "running", title: oneLine(shown), display_id: "prompt", instance_id: agent });
        this.ev("task:status", exec, s.end, { task_id: role.task, status: s.status.code === 2 ? "failed" : "completed" });
        return;
      }
      case "llm_request": {
        this.touch(exec, "Claude Code", s.start, agent, agentType, task);
        const requestId = str(a.request_id) ?? str(a["gen_ai.response.id"]);
        const tokens: CallTokens = {
          model: str(a.model) ?? str(a["gen_ai.request.model"]) ?? "unknown", input_tokens: count(a.input_tokens), output_tokens: count(a.output_tokens),
          cache_read_tokens: count(a.cache_read_tokens), cache_write_tokens: count(a.cache_creation_tokens), cache_write_1h_tokens: 0, reasoning_tokens: 0,
        };
        this.ev("llm:call", exec, s.end, {
          ...common, id: requestId ? `${exec}/${requestId}` : `${exec}/span-${s.spanId}`, ...(requestId ? { response_id: requestId } : {}), provider: "anthropic",
          ...llmFields(tokens, this.ctx.prices, num(a.cost_usd)), duration_ms: Math.max(0, s.end - s.start),
        });
        if (s.status.code === 2 || bool(a.success) === false) {
          this.ev("transcript:entry", exec, s.end, {
            ...common, entry_id: `${exec}/span-${s.spanId}#error`, entry_type: "error", category: "api_error",
            summary: `API error${str(a.status_code) ? ` ${str(a.status_code)}` : ""}: ${str(a.error) ?? s.status.message ?? "request failed"}`, details: { model: tokens.model, request_id: requestId },
          });
        }
        return;
      }
      case "tool": {
        this.touch(exec, "Claude Code", s.start, agent, agentType, task);
        const id = role.tool!;
        const input = parsed(a.tool_input) ?? parsed(a.tool_parameters) ?? {};
        const failed = s.status.code === 2 || bool(a.success) === false;
        const error = str(a.error) ?? (failed ? s.status.message ?? undefined : undefined);
        this.ev("tool:start", exec, s.start, {
          ...common, tool_use_id: id, tool: str(a.tool_name) ?? "unknown", input, input_summary: inputSummary(input) || NOT_LOGGED, entry_id: `${id}#call`,
          ...(parent?.claudeTool && parent.tool ? { parent_tool_use_id: parent.tool } : {}),
        });
        this.ev("tool:end", exec, s.end, { ...common, tool_use_id: id, is_error: failed, ...(error ? { error_message: error, output_summary: error } : {}) });
        return;
      }
      default:
        return this.note(this.result.notKept, `span ${s.name}`);
    }
  }

  metrics(req: ExportRequest): void {
    for (const m of req.metrics) {
      this.result.items += m.points;
      if (m.points) this.result.notKept.set(`metric ${m.name}`, (this.result.notKept.get(`metric ${m.name}`) ?? 0) + m.points);
    }
  }
}

/** Maps one export request to obs events. */
export function mapRequest(req: ExportRequest, ctx: MapContext): MapResult {
  const m = new Mapper(ctx);
  if (req.signal === "logs") m.logs(req.logs);
  else if (req.signal === "traces") m.spans(req.spans);
  else m.metrics(req);
  return m.finish();
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const NOUN = { logs: ["log record", "log records"], traces: ["span", "spans"], metrics: ["data point", "data points"] } as const;

/** The sentence a sender reads about what obs did not keep, or null when it kept everything. */
export function describeUnkept(signal: ExportRequest["signal"], r: { rejected: Map<string, number>; notKept: Map<string, number> }): string | null {
  const [one, many] = NOUN[signal];
  const parts: string[] = [];
  const list = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${k} ×${n}`).join(", ") + (m.size > 8 ? ", …" : "");
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  if (r.rejected.size) parts.push(`rejected ${plural(total(r.rejected), one, many)}: ${list(r.rejected)}`);
  if (r.notKept.size) {
    parts.push(signal === "metrics"
      ? `kept no metrics (obs keeps runs, not time series; Claude Code's tokens and cost come with its api_request log events): ${list(r.notKept)}`
      : `accepted but not kept ${plural(total(r.notKept), one, many)} that carry nothing obs stores: ${list(r.notKept)}`);
  }
  return parts.length ? `obs ${parts.join("; ")}` : null;
}

/** Sets a key as the newest of a map kept to `max` entries, the oldest going first. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}
