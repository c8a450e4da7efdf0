/**
 * obs as a library. For agents written in TypeScript, the producers that write obs's record (the
 * JSONL event stream and the database, as `obs ingest` would make it); for a server of one's
 * own, the stream service and the WebSocket protocol `obs serve` speaks, with their event types.
 */
export * from "./producers/index.js";
