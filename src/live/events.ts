import { fmtMs } from "../render/format.js";

/**
 * The stream events of seed 003 (its ObservabilityEvent union), as obs emits them. `timestamp`
 * is when the thing happened (the row's own time), so a replay reads like the live stream.
 */

export interface Base {
  timestamp: string;
  executionId: string;
}

export interface TranscriptStreamEvent extends Base {
  type: "transcript:entry";
  entry: {
    id: string; timestamp: string; sequence: number; executionId: string; taskId: string | null; instanceId: string | null;
    waveNumber: number | null; entryType: string; category: string | null; summary: string | null; details: unknown; durationMs: number | null;
  };
  isLatest: boolean;
}
export interface ToolUseStartEvent extends Base { type: "tool:start"; toolUseId: string; tool: string; inputSummary: string; taskId?: string; instanceId?: string }
export interface ToolUseEndEvent extends Base {
  type: "tool:end"; toolUseId: string; tool?: string; resultStatus: "done" | "error" | "blocked"; durationMs: number | null;
  outputSummary?: string; isError?: boolean; isBlocked?: boolean; taskId?: string; errorMessage?: string; blockReason?: string;
  /** Not in the original protocol: the agent that made the call, as on its tool:start. */
  instanceId?: string;
}
export interface AssertionStreamEvent extends Base {
  type: "assertion:result";
  taskId: string;
  assertion: { id: string; taskId: string; executionId: string; chainId: string | null; category: string; description: string; result: string; evidence: unknown; timestamp: string; durationMs: number | null };
  runningPassRate: number;
  /** Not in the original protocol: the agent whose entry recorded it. */
  instanceId?: string;
}
/** `instanceId` on skill events is not in the original protocol: the agent that ran the skill. */
export interface SkillStartEvent extends Base { type: "skill:start"; skillTraceId: string; skillName: string; skillFile: string; lineNumber: number; taskId?: string; instanceId?: string }
export interface SkillEndEvent extends Base { type: "skill:end"; skillTraceId: string; skillName: string; status: "success" | "partial" | "failed"; durationMs: number | null; taskId?: string; error?: string; instanceId?: string }
export interface MessageBusStreamEvent extends Base {
  type: "messagebus:event";
  entry: { id: string; eventId: string | null; timestamp: string; source: string | null; eventType: string | null; correlationId: string | null; humanSummary: string | null; severity: string | null; category: string | null; taskId: string | null; executionId: string | null; payload: unknown };
  requiresAction: boolean;
}
export interface WaveStatusEvent extends Base { type: "wave:status"; waveNumber: number; status: string; taskCount: number; completedCount: number; failedCount: number }
export interface AgentHeartbeatEvent extends Base { type: "agent:heartbeat"; instanceId: string; status: string; currentTaskId?: string; metrics?: unknown }
export interface ExecutionStatusEvent extends Base { type: "execution:status"; status: string; message?: string }
/**
 * Not one of seed 003's: the moment an agent's repeated calls became a loop (D007), at the call
 * that made it one. obs tail shows it as a marker in the feed.
 */
export interface LoopStartEvent extends Base {
  type: "loop:start"; instanceId?: string; tool: string; inputSummary: string;
  /** How many identical calls it took (D007's min_calls), the first of them, and the call that made it a loop. */
  calls: number; firstAt: string; firstToolUseId: string; toolUseId: string; inARow: boolean;
}

export type StreamEvent =
  | TranscriptStreamEvent | ToolUseStartEvent | ToolUseEndEvent | AssertionStreamEvent | SkillStartEvent | SkillEndEvent
  | MessageBusStreamEvent | WaveStatusEvent | AgentHeartbeatEvent | ExecutionStatusEvent | LoopStartEvent;

export type StreamEventType = StreamEvent["type"];
export const STREAM_EVENT_TYPES: readonly StreamEventType[] = [
  "transcript:entry", "tool:start", "tool:end", "assertion:result", "skill:start", "skill:end",
  "messagebus:event", "wave:status", "agent:heartbeat", "execution:status", "loop:start",
];

/** The task an event is about, where it has one. */
export function taskOf(e: StreamEvent): string | undefined {
  switch (e.type) {
    case "transcript:entry": return e.entry.taskId ?? undefined;
    case "assertion:result": return e.taskId;
    case "messagebus:event": return e.entry.taskId ?? undefined;
    case "agent:heartbeat": return e.currentTaskId;
    case "tool:start": case "tool:end": case "skill:start": case "skill:end": return e.taskId;
    default: return undefined;
  }
}

/** The agent behind an event, where known. */
export function agentOf(e: StreamEvent): string | undefined {
  switch (e.type) {
    case "transcript:entry": return e.entry.instanceId ?? undefined;
    case "agent:heartbeat": return e.instanceId;
    case "tool:start": case "tool:end": case "skill:start": case "skill:end": case "assertion:result": case "loop:start": return e.instanceId;
    case "messagebus:event": return e.entry.source ?? undefined;
    default: return undefined;
  }
}

/** Whether an event reports something going wrong. */
export function isErrorEvent(e: StreamEvent): boolean {
  switch (e.type) {
    case "tool:end": return Boolean(e.isError || e.isBlocked);
    case "assertion:result": return e.assertion.result === "fail";
    case "skill:end": return e.status === "failed";
    case "messagebus:event": return e.entry.severity === "error" || e.entry.severity === "critical";
    case "transcript:entry": return e.entry.entryType === "error";
    case "agent:heartbeat": return e.status === "error" || e.status === "failed";
    case "execution:status": return e.status === "failed";
    case "loop:start": return true;
    default: return false;
  }
}

/** One line of text for an event: what a person scanning a live feed needs. */
export function describe(e: StreamEvent): string {
  switch (e.type) {
    case "transcript:entry": return `${e.entry.entryType}: ${e.entry.summary ?? ""}`;
    case "tool:start": return `${e.tool} ${e.inputSummary}`;
    case "tool:end": {
      const took = e.durationMs === null ? "" : ` ${fmtMs(e.durationMs)}`;
      const why = e.isBlocked ? ` — ${e.blockReason ?? "blocked"}` : e.isError ? ` — ${e.errorMessage ?? e.outputSummary ?? ""}` : "";
      return `${e.tool ?? e.toolUseId} ${e.resultStatus}${took}${why}`;
    }
    case "assertion:result": return `${e.assertion.result.toUpperCase()} ${e.assertion.category}: ${e.assertion.description} (pass rate ${(e.runningPassRate * 100).toFixed(0)}%)`;
    case "skill:start": return `skill ${e.skillName} (${e.skillFile}:${e.lineNumber})`;
    case "skill:end": return `skill ${e.skillName} ${e.status}${e.durationMs === null ? "" : ` ${fmtMs(e.durationMs)}`}${e.error ? ` — ${e.error}` : ""}`;
    case "messagebus:event": return `[${e.entry.severity}] ${e.entry.eventType}: ${e.entry.humanSummary ?? ""}`;
    case "wave:status": return `wave ${e.waveNumber} ${e.status} (${e.completedCount}/${e.taskCount} done, ${e.failedCount} failed)`;
    case "agent:heartbeat": return `${e.instanceId} ${e.status}${e.currentTaskId ? ` on ${e.currentTaskId}` : ""}`;
    case "execution:status": return `execution ${e.status}${e.message ? `: ${e.message}` : ""}`;
    case "loop:start": return `LOOP ${e.tool} ${e.inputSummary} — the same call ${e.calls} times${e.inARow ? " in a row" : ""} since ${e.firstAt.slice(11, 23)} (D007)`;
  }
}

/*
 * The rest of seed 003's WebSocket types (OBS-601), shared with clients: streamed tool output
 * (sent by producers in the same process; the database does not keep chunks apart), the
 * connection messages, and what clients send.
 */

export interface ToolUseOutputEvent extends Base { type: "tool:output"; toolUseId: string; chunk: string; isStderr: boolean; taskId?: string }

/** Every event about an execution the stream carries. */
export type ObservabilityDataEvent = StreamEvent | ToolUseOutputEvent;

export interface ObservabilityConnectedEvent { type: "observability:connected"; timestamp: string; executionId: string; message: string; bufferedEventCount: number }
export interface ObservabilitySubscribedEvent { type: "observability:subscribed"; timestamp: string; topic: string; executionId?: string }
export interface ObservabilityUnsubscribedEvent { type: "observability:unsubscribed"; timestamp: string; topic: string }
export interface ObservabilityErrorEvent { type: "observability:error"; timestamp: string; error: string; code: string }

/** Everything a client receives (besides `pong`). */
export type ObservabilityEvent =
  | ObservabilityDataEvent | ObservabilityConnectedEvent | ObservabilitySubscribedEvent | ObservabilityUnsubscribedEvent | ObservabilityErrorEvent;
export type ObservabilityEventType = ObservabilityEvent["type"];

/** What a client subscribes to: everything, or one kind of event. */
export type ObservabilityTopic = "all" | "transcript" | "tools" | "assertions" | "skills" | "messagebus" | "waves" | "agents" | "execution";
export const OBSERVABILITY_TOPICS: readonly ObservabilityTopic[] = ["all", "transcript", "tools", "assertions", "skills", "messagebus", "waves", "agents", "execution"];

/** Narrowing within a subscription; each applies to the events it names, on every topic. */
export interface EventFilters {
  entryTypes?: string[];
  tools?: string[];
  categories?: string[];
  severity?: string[];
  taskId?: string;
}

export interface SubscriptionRequest { action: "subscribe" | "unsubscribe"; topic: ObservabilityTopic; executionId?: string; filters?: EventFilters }
export interface PingMessage { type: "ping" }
export interface PongMessage { type: "pong"; timestamp: string }
/** Everything a client may send. */
export type ClientMessage = SubscriptionRequest | PingMessage;
