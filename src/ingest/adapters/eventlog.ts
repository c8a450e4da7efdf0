import { costOf, type PriceTable } from "../../pricing.js";
import { errorText, given } from "./shared.js";
import { parseJson } from "../text.js";
import type { Adapter, AdapterResult, BadLine, InputLine, J } from "./types.js";

/**
 * Seed 004's EventLog (workspaces/<session>/events.jsonl: event_type, timestamp, session_id,
 * message, phase, task_id, agent_role, model, metadata) as obs events. A session is an
 * execution; TASK_* events set task status and make entries; an LLM response (with its
 * request's tokens when only the request carried them) is a model call; GATE_BLOCKED is a
 * blocked operation; ERROR and *_FAILED are errors; PHASE_TRANSITION ends one phase and starts
 * the next; everything else is an entry of the nearest type.
 */

function looksLikeEventLog(first: J[]): boolean {
  return first.some((o) => typeof o.event_type === "string" && typeof o.session_id === "string" && "message" in o);
}

const TASK_STATUS: Record<string, string> = {
  task_scheduled: "pending", task_started: "running", task_completed: "completed",
  task_failed: "failed", task_retrying: "running", task_skipped: "skipped",
};

/** The transcript entry type nearest to each EventLog type not folded otherwise. */
const ENTRY_TYPE: Record<string, string> = {
  session_started: "phase_start", session_completed: "phase_end", session_aborted: "error",
  agent_invoked: "discovery", agent_response: "discovery", model_routed: "decision",
  gate_evaluated: "validation", gate_warned: "validation",
  diff_applied: "checkpoint", command_executed: "checkpoint",
  verification_started: "validation", verification_passed: "validation",
  artifact_created: "checkpoint", artifact_updated: "checkpoint",
  clarification_requested: "decision", clarification_answered: "decision",
  info: "discovery", warning: "discovery", llm_request_sent: "checkpoint",
};

/**
 * An error event's own text: its message, and what its metadata says went wrong (error,
 * error_message or exception) when the message does not already say it.
 */
function errorTextOf(message: string, meta: J): string {
  const err = errorText(meta.error) ?? errorText(meta.error_message) ?? errorText(meta.exception);
  if (!err) return message;
  if (!message) return err;
  return message.includes(err) ? message : `${message}: ${err}`;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.round(v) : null);

function eventLogEvents(file: string, lines: Iterable<InputLine>, prices: PriceTable): AdapterResult {
  const bad: BadLine[] = [];
  const rows: { o: J; n: number }[] = [];
  for (const { text: raw, n, invalid } of lines) {
    if (invalid) {
      bad.push({ source: file, line: n, reason: invalid });
      continue;
    }
    if (raw.trim() === "") continue;
    try {
      const o = parseJson(raw) as J;
      if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Error("not a JSON object");
      if (typeof o.event_type !== "string") bad.push({ source: file, line: n, reason: "missing field event_type" });
      else if (typeof o.session_id !== "string" || o.session_id === "") bad.push({ source: file, line: n, reason: "missing field session_id" });
      else if (typeof o.timestamp !== "string" && typeof o.timestamp !== "number") bad.push({ source: file, line: n, reason: "missing field timestamp" });
      else rows.push({ o, n });
    } catch (e) {
      bad.push({ source: file, line: n, reason: `not JSON: ${(e as Error).message}` });
    }
  }
  const events: J[] = [];
  const sessions = new Set<string>();
  const agentLast = new Map<string, { exec: string; ts: string; task: string | null }>();
  // An LLM request waits for its response, per session, agent and model.
  const requests = new Map<string, { ts: string; o: J }[]>();
  const llm = (exec: string, ts: string, o: J, meta: J, startTs: string | null, reqMeta: J | null, n: number) => {
    const inTok = num(meta.prompt_tokens) ?? num(meta.input_tokens) ?? num(reqMeta?.prompt_tokens) ?? num(reqMeta?.input_tokens) ?? 0;
    const outTok = num(meta.completion_tokens) ?? num(meta.output_tokens) ?? 0;
    const model = String(o.model ?? meta.model ?? "unknown");
    const cost = typeof meta.cost_usd === "number" ? meta.cost_usd : costOf(prices, { model, input_tokens: inTok, output_tokens: outTok });
    events.push({
      kind: "llm:call", execution_id: exec, timestamp: ts, id: `${exec}/llm-${n}`, model, input_tokens: inTok, output_tokens: outTok,
      ...(o.agent_role ? { instance_id: `${exec}/${String(o.agent_role)}` } : {}), ...(o.task_id ? { task_id: String(o.task_id) } : {}),
      ...(startTs ? { duration_ms: Math.max(0, Date.parse(ts) - Date.parse(startTs)) } : {}), ...(cost !== null ? { cost_usd: cost } : {}),
    });
  };

  for (const { o, n } of rows) {
    const exec = String(o.session_id);
    const ts = typeof o.timestamp === "number" ? new Date(o.timestamp).toISOString() : String(o.timestamp);
    const type = String(o.event_type).toLowerCase();
    const meta = (o.metadata && typeof o.metadata === "object" ? o.metadata : {}) as J;
    const message = String(o.message ?? "");
    const agent = o.agent_role ? `${exec}/${String(o.agent_role)}` : undefined;
    const common: J = { execution_id: exec, timestamp: ts, ...(agent ? { instance_id: agent } : {}), ...(o.task_id ? { task_id: String(o.task_id) } : {}) };
    const entry = (entry_type: string, category: string) =>
      events.push({
        kind: "transcript:entry", ...common, entry_id: `${exec}/eventlog-${n}`, entry_type, category,
        summary: (entry_type === "error" ? errorTextOf(message, meta) : message) || type,
        details: { event_type: o.event_type, phase: o.phase ?? null, model: o.model ?? null, metadata: meta },
      });
    if (!sessions.has(exec)) {
      sessions.add(exec);
      events.push({ kind: "execution:status", execution_id: exec, timestamp: ts, status: "started", ...(typeof meta.task_list_id === "string" ? { task_list_id: meta.task_list_id } : {}) });
    }
    if (agent && !agentLast.has(agent)) events.push({ kind: "agent:heartbeat", ...common, status: "working", ...(o.task_id ? { current_task_id: String(o.task_id) } : {}) });
    if (agent) agentLast.set(agent, { exec, ts, task: o.task_id ? String(o.task_id) : agentLast.get(agent)?.task ?? null });

    if (TASK_STATUS[type] && o.task_id) {
      events.push({ kind: "task:status", ...common, task_id: String(o.task_id), status: TASK_STATUS[type], ...(typeof meta.description === "string" ? { title: meta.description } : {}) });
      entry(type === "task_started" ? "task_start" : type === "task_failed" ? "error" : type === "task_completed" ? "task_end" : "checkpoint", "task");
    } else if (type === "llm_request_sent") {
      const key = `${exec}|${String(o.agent_role ?? "")}|${String(o.model ?? "")}`;
      requests.set(key, [...(requests.get(key) ?? []), { ts, o }]);
      entry("checkpoint", "llm");
    } else if (type === "llm_response_received") {
      const key = `${exec}|${String(o.agent_role ?? "")}|${String(o.model ?? "")}`;
      const req = requests.get(key)?.shift();
      llm(exec, ts, o, meta, req?.ts ?? null, (req?.o.metadata as J | undefined) ?? null, n);
      entry("discovery", "llm");
    } else if (type === "gate_blocked") {
      const id = `${exec}/gate-${n}`;
      events.push({ kind: "tool:start", ...common, tool_use_id: id, tool: `gate:${String(meta.gate ?? meta.gate_name ?? "policy")}`, input: meta, entry_id: `${exec}/eventlog-${n}` });
      events.push({ kind: "tool:blocked", ...common, tool_use_id: id, reason: message || "blocked by a gate" });
    } else if (type === "error" || type.endsWith("_failed")) {
      entry("error", type);
      if (type === "session_failed") events.push({ kind: "execution:status", ...common, status: "failed", message: errorTextOf(message, meta) });
    } else if (type === "phase_transition") {
      const oldPhase = String(meta.old_phase ?? "");
      const newPhase = String(meta.new_phase ?? o.phase ?? "");
      if (oldPhase) events.push({ kind: "transcript:entry", ...common, entry_id: `${exec}/eventlog-${n}-end`, entry_type: "phase_end", category: "phase", summary: `Phase ${oldPhase} ended`, details: { phase: oldPhase } });
      events.push({ kind: "transcript:entry", ...common, entry_id: `${exec}/eventlog-${n}`, entry_type: "phase_start", category: "phase", summary: message || `Phase ${newPhase}`, details: { phase: newPhase, old_phase: oldPhase || null } });
    } else {
      entry(ENTRY_TYPE[type] ?? "discovery", type);
      if (type === "session_completed") events.push({ kind: "execution:status", ...common, status: "completed", message });
      if (type === "session_aborted") events.push({ kind: "execution:status", ...common, status: "failed", message: errorTextOf(message, meta) });
    }
  }
  // An agent's last event is the end of its life in the log.
  for (const [agent, a] of agentLast) {
    events.push({ kind: "agent:heartbeat", execution_id: a.exec, timestamp: a.ts, instance_id: agent, status: "completed", heartbeat_id: `${agent}@end`, ...(a.task ? { current_task_id: a.task } : {}) });
  }
  // A request whose response never came still spent its prompt tokens.
  for (const list of requests.values()) {
    for (const r of list) {
      const meta = (r.o.metadata ?? {}) as J;
      if (num(meta.prompt_tokens) !== null || num(meta.input_tokens) !== null) llm(String(r.o.session_id), r.ts, r.o, meta, null, null, -1 - events.length);
    }
  }
  return { events, skipped: 0, bad, lines: rows.length + bad.length, executionId: [...sessions][0] ?? null };
}

export const eventLog: Adapter = {
  format: "eventlog",
  describes: "EventLogs (events.jsonl with event_type, session_id and message)",
  detect: (head) => looksLikeEventLog(head.objects),
  read: (input, ctx) => given(eventLogEvents(input.path, input.lines(), ctx.prices)),
};
