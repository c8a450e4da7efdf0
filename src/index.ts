/**
 * obs as a library. For agents written in TypeScript, the producers that write obs's record (the
 * JSONL event stream and the database, as `obs ingest` would make it); for a server of one's
 * own, the stream service and the WebSocket protocol `obs serve` speaks, with their event types.
 */
export * from "./producers/index.js";
export { ObservabilityStreamService, observabilityStream, DEFAULT_BUFFER_SIZE } from "./live/stream.js";
export type { StreamServiceOptions, StreamListener } from "./live/stream.js";
export { attachObservabilityStream, shouldSend } from "./live/serve.js";
export type { AttachOptions, AttachedStream } from "./live/serve.js";
export { OBSERVABILITY_TOPICS } from "./live/events.js";
export type {
  ObservabilityEvent, ObservabilityEventType, ObservabilityDataEvent, ObservabilityTopic, EventFilters, SubscriptionRequest,
  PingMessage, PongMessage, ClientMessage, TranscriptStreamEvent, ToolUseStartEvent, ToolUseEndEvent, ToolUseOutputEvent,
  AssertionStreamEvent, SkillStartEvent, SkillEndEvent, MessageBusStreamEvent, WaveStatusEvent, AgentHeartbeatEvent,
  ExecutionStatusEvent, ObservabilityConnectedEvent, ObservabilitySubscribedEvent, ObservabilityUnsubscribedEvent,
  ObservabilityErrorEvent,
} from "./live/events.js";
