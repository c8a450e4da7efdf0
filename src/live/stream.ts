import { EventEmitter } from "node:events";
import type {
  AgentHeartbeatEvent, AssertionStreamEvent, ExecutionStatusEvent, MessageBusStreamEvent, ObservabilityDataEvent, SkillEndEvent,
  SkillStartEvent, ToolUseEndEvent, ToolUseOutputEvent, ToolUseStartEvent, TranscriptStreamEvent, WaveStatusEvent,
} from "./events.js";

/**
 * Seed 003's in-process stream (OBS-600): an emitter with an emit method per event type, the last
 * events of each execution kept for subscribers who come late, and listeners per execution
 * (`observability:<execution id>`) and for everything (`observability:all`). `obs serve` feeds one
 * from the database's change feed; a server of one's own feeds it from its services, or hands it
 * to the producers (TranscriptWriter's `stream` option), and attaches it to its WebSocket server
 * with attachObservabilityStream (./serve.ts).
 */

export const DEFAULT_BUFFER_SIZE = 100;

export interface StreamServiceOptions {
  /** Events kept per execution for late subscribers (default 100). */
  bufferSize?: number;
  /**
   * Where an execution's earlier events come from the first time its buffer is asked for (obs
   * serve reads them from the database): they take the place of what was buffered until then.
   */
  history?: (executionId: string, limit: number) => ObservabilityDataEvent[];
}

export type StreamListener = (event: ObservabilityDataEvent) => void;

const now = () => new Date().toISOString();

export class ObservabilityStreamService extends EventEmitter {
  private static instance: ObservabilityStreamService | undefined;
  private readonly buffers = new Map<string, ObservabilityDataEvent[]>();
  private readonly seeded = new Set<string>();
  readonly bufferSize: number;
  private readonly history: StreamServiceOptions["history"];

  constructor(opts: StreamServiceOptions = {}) {
    super();
    // One listener per connected client and execution.
    this.setMaxListeners(0);
    this.bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
    this.history = opts.history;
  }

  /** The process's shared service (the seed's singleton). */
  static getInstance(): ObservabilityStreamService {
    return (ObservabilityStreamService.instance ??= new ObservabilityStreamService());
  }

  emitTranscriptEntry(executionId: string, entry: TranscriptStreamEvent["entry"], isLatest = true): void {
    this.publish({ type: "transcript:entry", timestamp: now(), executionId, entry, isLatest });
  }

  emitToolStart(executionId: string, toolUseId: string, tool: string, inputSummary: string, taskId?: string): void {
    this.publish({ type: "tool:start", timestamp: now(), executionId, toolUseId, tool, inputSummary, ...(taskId ? { taskId } : {}) });
  }

  emitToolEnd(
    executionId: string, toolUseId: string, resultStatus: ToolUseEndEvent["resultStatus"], durationMs: number | null,
    outputSummary?: string, isError?: boolean, isBlocked?: boolean,
  ): void {
    this.publish({
      type: "tool:end", timestamp: now(), executionId, toolUseId, resultStatus, durationMs,
      ...(outputSummary !== undefined ? { outputSummary } : {}), ...(isError !== undefined ? { isError } : {}), ...(isBlocked !== undefined ? { isBlocked } : {}),
    });
  }

  /** Output of a long-running tool as it comes. */
  emitToolOutput(executionId: string, toolUseId: string, chunk: string, isStderr = false): void {
    const e: ToolUseOutputEvent = { type: "tool:output", timestamp: now(), executionId, toolUseId, chunk, isStderr };
    this.publish(e);
  }

  emitAssertionResult(executionId: string, taskId: string, assertion: AssertionStreamEvent["assertion"], runningPassRate: number): void {
    this.publish({ type: "assertion:result", timestamp: now(), executionId, taskId, assertion, runningPassRate });
  }

  emitSkillStart(executionId: string, skillTraceId: string, skillName: string, skillFile: string, lineNumber: number, taskId?: string): void {
    const e: SkillStartEvent = { type: "skill:start", timestamp: now(), executionId, skillTraceId, skillName, skillFile, lineNumber, ...(taskId ? { taskId } : {}) };
    this.publish(e);
  }

  emitSkillEnd(executionId: string, skillTraceId: string, skillName: string, status: SkillEndEvent["status"], durationMs: number | null): void {
    this.publish({ type: "skill:end", timestamp: now(), executionId, skillTraceId, skillName, status, durationMs });
  }

  /** A bus event; one without an execution belongs to "global". */
  emitMessageBusEvent(entry: MessageBusStreamEvent["entry"], requiresAction = false): void {
    this.publish({ type: "messagebus:event", timestamp: now(), executionId: entry.executionId || "global", entry, requiresAction });
  }

  emitWaveStatus(executionId: string, waveNumber: number, status: WaveStatusEvent["status"], taskCount: number, completedCount: number, failedCount: number): void {
    this.publish({ type: "wave:status", timestamp: now(), executionId, waveNumber, status, taskCount, completedCount, failedCount });
  }

  emitAgentHeartbeat(executionId: string, instanceId: string, status: AgentHeartbeatEvent["status"], currentTaskId?: string, metrics?: Record<string, number>): void {
    this.publish({
      type: "agent:heartbeat", timestamp: now(), executionId, instanceId, status,
      ...(currentTaskId ? { currentTaskId } : {}), ...(metrics ? { metrics } : {}),
    });
  }

  /** An execution's status: to its listeners, to everything, and kept under "global" too. */
  emitExecutionStatus(executionId: string, status: ExecutionStatusEvent["status"], message?: string): void {
    this.publish({ type: "execution:status", timestamp: now(), executionId, status, ...(message ? { message } : {}) });
  }

  /**
   * Sends an event that is already made (with its own timestamp, as the database's feed makes
   * them): kept in its execution's buffer, emitted to that execution's listeners and to
   * everything's. Execution status changes also go to "global" (buffer and listeners), once.
   */
  publish(event: ObservabilityDataEvent): void {
    this.keep(event.executionId, event);
    this.emit(`observability:${event.executionId}`, event);
    if (event.type === "execution:status" && event.executionId !== "global") {
      this.keep("global", event);
      this.emit("observability:global", event);
    }
    this.emit("observability:all", event);
  }

  private keep(executionId: string, event: ObservabilityDataEvent): void {
    let buffer = this.buffers.get(executionId);
    if (!buffer) this.buffers.set(executionId, (buffer = []));
    buffer.push(event);
    if (buffer.length > this.bufferSize) buffer.splice(0, buffer.length - this.bufferSize);
  }

  /** The execution's last events, oldest first, for a subscriber who comes late. */
  getBufferedEvents(executionId: string): ObservabilityDataEvent[] {
    if (this.history && !this.seeded.has(executionId)) {
      this.seeded.add(executionId);
      this.buffers.set(executionId, this.history(executionId, this.bufferSize).slice(-this.bufferSize));
    }
    return [...(this.buffers.get(executionId) ?? [])];
  }

  /** Forgets an execution's buffer (once it is finished or archived). */
  clearBuffer(executionId: string): void {
    this.buffers.delete(executionId);
    this.seeded.delete(executionId);
  }

  /**
   * Listens to one execution's events, or to every execution's with "all"; returns the function
   * that stops listening.
   */
  subscribe(executionId: string, listener: StreamListener): () => void {
    const name = `observability:${executionId}`;
    this.on(name, listener);
    return () => void this.off(name, listener);
  }

  getListenerCount(executionId: string): number {
    return this.listenerCount(`observability:${executionId}`);
  }

  getGlobalListenerCount(): number {
    return this.listenerCount("observability:all");
  }
}

/** The process's shared service, as seed 003 exports it. */
export const observabilityStream = ObservabilityStreamService.getInstance();
