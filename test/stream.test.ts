import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { ObservabilityStreamService, observabilityStream } from "../src/live/stream.js";
import { attachObservabilityStream, serve } from "../src/live/serve.js";
import type { ObservabilityDataEvent } from "../src/live/events.js";
import { ToolUseLogger, TranscriptWriter, AssertionRecorder } from "../src/producers/index.js";
import { tmpDir } from "./helpers.js";

/** A WebSocket client that keeps what it receives and waits for what it expects. */
function client(url: string) {
  const ws = new WebSocket(url);
  const inbox: Record<string, unknown>[] = [];
  ws.on("message", (d) => inbox.push(JSON.parse(d.toString())));
  const until = (pred: (m: Record<string, unknown>) => boolean, what: string, timeoutMs = 5000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const started = Date.now();
      const look = () => {
        const i = inbox.findIndex(pred);
        if (i >= 0) return resolve(inbox.splice(i, 1)[0]!);
        if (Date.now() - started > timeoutMs) return reject(new Error(`no ${what}; got ${inbox.map((m) => m.type).join(", ")}`));
        setTimeout(look, 5);
      };
      look();
    });
  return { ws, inbox, until, open: new Promise((r) => ws.once("open", r)) };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

test("the stream service: an emit method per event type, 100 events kept per execution, listeners per execution and for all", () => {
  const s = new ObservabilityStreamService();
  const mine: ObservabilityDataEvent[] = [];
  const all: ObservabilityDataEvent[] = [];
  const global: ObservabilityDataEvent[] = [];
  const stop = s.subscribe("e1", (e) => mine.push(e));
  s.subscribe("all", (e) => all.push(e));
  s.subscribe("global", (e) => global.push(e));
  assert.equal(s.getListenerCount("e1"), 1);
  assert.equal(s.getGlobalListenerCount(), 1);
  s.emitToolStart("e1", "t1", "Bash", "ls", "task-1");
  s.emitToolEnd("e1", "t1", "done", 12, "ok", false, false);
  s.emitToolOutput("e1", "t1", "chunk", true);
  s.emitSkillStart("e1", "s1", "validation", "SKILLS.md", 42);
  s.emitSkillEnd("e1", "s1", "validation", "success", 30);
  s.emitAssertionResult("e1", "task-1", { id: "a1", taskId: "task-1", executionId: "e1", chainId: null, category: "file_created", description: "x", result: "pass", evidence: null, timestamp: "t", durationMs: 1 }, 1);
  s.emitWaveStatus("e1", 1, "running", 3, 1, 0);
  s.emitAgentHeartbeat("e1", "agent-1", "working", "task-1", { tokens: 5 });
  s.emitTranscriptEntry("e1", { id: "x", timestamp: "t", sequence: 1, executionId: "e1", taskId: null, instanceId: null, waveNumber: null, entryType: "phase_start", category: "lifecycle", summary: "s", details: null, durationMs: null });
  s.emitMessageBusEvent({ id: "m", eventId: "ev", timestamp: "t", source: "x", eventType: "y", correlationId: null, humanSummary: "h", severity: "error", category: null, taskId: null, executionId: null, payload: null }, true);
  s.emitExecutionStatus("e1", "completed", "done");
  assert.deepEqual(mine.map((e) => e.type), ["tool:start", "tool:end", "tool:output", "skill:start", "skill:end", "assertion:result", "wave:status", "agent:heartbeat", "transcript:entry", "execution:status"]);
  assert.equal(all.length, 11, "everything, once each (the bus event has no execution: it is global)");
  assert.deepEqual(global.map((e) => e.type), ["messagebus:event", "execution:status"]);
  const start = mine[0] as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(start), ["type", "timestamp", "executionId", "toolUseId", "tool", "inputSummary", "taskId"]);
  assert.match(start.timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(mine[1], { ...(mine[1] as object), type: "tool:end", resultStatus: "done", durationMs: 12, outputSummary: "ok", isError: false, isBlocked: false });
  stop();
  assert.equal(s.getListenerCount("e1"), 0);
  for (let i = 0; i < 150; i++) s.emitToolStart("e2", `t${i}`, "Read", String(i));
  const kept = s.getBufferedEvents("e2");
  assert.equal(kept.length, 100);
  assert.equal((kept[0] as { toolUseId: string }).toolUseId, "t50", "the last 100, oldest first");
  assert.equal(s.getBufferedEvents("global").length, 2);
  s.clearBuffer("e2");
  assert.deepEqual(s.getBufferedEvents("e2"), []);
  assert.equal(ObservabilityStreamService.getInstance(), observabilityStream, "the seed's singleton");
});

test("a history source seeds an execution's buffer once, the first time it is asked for", () => {
  let asked = 0;
  const s = new ObservabilityStreamService({
    bufferSize: 3,
    history: (exec, limit) => {
      asked++;
      return Array.from({ length: 5 }, (_, i) => ({ type: "tool:start" as const, timestamp: `t${i}`, executionId: exec, toolUseId: `old${i}`, tool: "Read", inputSummary: "" })).slice(-limit);
    },
  });
  s.emitToolStart("e", "live-before", "Read", "");
  assert.deepEqual(s.getBufferedEvents("e").map((e) => (e as { toolUseId: string }).toolUseId), ["old2", "old3", "old4"]);
  s.emitToolStart("e", "live-after", "Read", "");
  assert.deepEqual(s.getBufferedEvents("e").map((e) => (e as { toolUseId: string }).toolUseId), ["old3", "old4", "live-after"]);
  assert.equal(asked, 1);
});

test("mounted on a plain Node server: its own routes and WebSockets untouched, seed 003's protocol at /ws", async (t) => {
  const stream = new ObservabilityStreamService();
  const server = http.createServer((req, res) => void res.end(req.url === "/hello" ? "hello from my server" : "?"));
  const own = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    if (req.url === "/chat") own.handleUpgrade(req, socket, head, (ws) => ws.send("welcome to chat"));
  });
  const mounted = attachObservabilityStream(server, { stream });
  const port = await listen(server);
  t.after(() => {
    mounted.close();
    own.close();
    server.close();
  });
  stream.emitToolStart("exec-1", "early", "Read", "before anyone listened");
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/hello`)).text(), "hello from my server");
  const chat = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  assert.equal(String(await new Promise((r) => chat.once("message", r))), "welcome to chat");
  chat.close();

  const c = client(`ws://127.0.0.1:${port}/ws?observability=exec-1`);
  const connected = await c.until((m) => m.type === "observability:connected", "connected");
  assert.deepEqual([connected.executionId, connected.bufferedEventCount], ["exec-1", 1]);
  assert.equal((await c.until((m) => m.type === "tool:start", "the replay")).toolUseId, "early");
  const everything = client(`ws://127.0.0.1:${port}/ws?observability=all`);
  await everything.until((m) => m.type === "observability:connected", "connected");
  assert.equal(mounted.clients(), 2);
  stream.emitToolStart("exec-2", "elsewhere", "Read", "");
  stream.emitToolStart("exec-1", "live", "Bash", "make");
  assert.equal((await c.until((m) => m.type === "tool:start", "a live event")).toolUseId, "live");
  assert.deepEqual([(await everything.until((m) => m.type === "tool:start", "1")).toolUseId, (await everything.until((m) => m.type === "tool:start", "2")).toolUseId], ["elsewhere", "live"]);
  assert.ok(!c.inbox.some((m) => m.toolUseId === "elsewhere"), "a client of one execution hears only it");
  c.ws.send(JSON.stringify({ action: "unsubscribe", topic: "all" }));
  await c.until((m) => m.type === "observability:unsubscribed", "unsubscribed");
  c.ws.send(JSON.stringify({ action: "subscribe", topic: "skills" }));
  await c.until((m) => m.type === "observability:subscribed", "subscribed");
  stream.emitToolStart("exec-1", "filtered", "Read", "");
  stream.emitSkillStart("exec-1", "s", "validation", "SKILLS.md", 1);
  assert.equal((await c.until((m) => m.type === "skill:start", "the skill")).skillTraceId, "s");
  assert.ok(!c.inbox.some((m) => m.toolUseId === "filtered"));
  c.ws.send("nonsense");
  assert.equal((await c.until((m) => m.type === "observability:error", "an error")).code, "INVALID_MESSAGE");
  c.ws.close();
  everything.ws.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(mounted.clients(), 0);
  assert.equal(stream.getListenerCount("exec-1"), 0, "a client that leaves stops listening");
});

test("attached to one's own ws server: connections with ?observability= get the stream, the others the server's own protocol", async (t) => {
  const stream = new ObservabilityStreamService();
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => {
    if (!req.url?.includes("observability=")) ws.send("my own protocol");
  });
  const mounted = attachObservabilityStream(wss, { stream, token: "s3cret" });
  const port = await listen(server);
  t.after(() => {
    mounted.close();
    wss.close();
    server.close();
  });
  const mine = new WebSocket(`ws://127.0.0.1:${port}/anything`);
  assert.equal(String(await new Promise((r) => mine.once("message", r))), "my own protocol");
  mine.close();
  const refused = new WebSocket(`ws://127.0.0.1:${port}/?observability=e&token=wrong`);
  assert.equal(await new Promise((r) => refused.once("close", (code) => r(code))), 1008);
  const c = client(`ws://127.0.0.1:${port}/?observability=e&token=s3cret`);
  await c.until((m) => m.type === "observability:connected", "connected");
  stream.emitExecutionStatus("e", "running");
  assert.equal((await c.until((m) => m.type === "execution:status", "status")).status, "running");
  c.ws.close();
});

test("producers in the same process stream what they record at once, as obs serve streams it from the database", async (t) => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const stream = new ObservabilityStreamService();
  const server = http.createServer();
  const mounted = attachObservabilityStream(server, { stream });
  const port = await listen(server);
  const w = new TranscriptWriter({ executionId: "exec-live", instanceId: "a1", dbPath: db, transcriptsDir: path.join(dir, "t"), flushIntervalMs: 0, stream });
  w.write({ entryType: "phase_start", summary: "warm up" });
  w.flush();
  const fromDb = await serve({ dbPath: db, host: "127.0.0.1", port: 0, intervalMs: 10 });
  t.after(async () => {
    mounted.close();
    server.close();
    await fromDb.close();
  });
  const live = client(`ws://127.0.0.1:${port}/ws?observability=exec-live`);
  const feed = client(`${fromDb.url}?observability=exec-live`);
  await live.until((m) => m.type === "observability:connected", "connected");
  await feed.until((m) => m.type === "observability:connected", "connected");
  live.inbox.length = 0;
  feed.inbox.length = 0;
  const tools = new ToolUseLogger(w);
  const id = tools.logStart({ id: "toolu_1", name: "Bash", input: { command: "make" } });
  tools.logEnd(id, { content: "boom", is_error: true });
  const blocked = tools.logStart({ id: "toolu_2", name: "Bash", input: { command: "rm -rf /" } });
  tools.logBlocked(blocked, "denied");
  await new AssertionRecorder(w).assertFileDeleted("T-1", "nothing-here");
  // Before any flush: nothing is in the database yet, and the in-process stream has it all.
  const started = await live.until((m) => m.type === "tool:start", "a start, before the flush");
  assert.deepEqual([started.toolUseId, started.tool, started.inputSummary], ["toolu_1", "Bash", "make"]);
  await live.until((m) => m.type === "assertion:result", "the assertion");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(feed.inbox.filter((m) => String(m.type).startsWith("tool")).length, 0, "the database has not got them yet");
  w.flush();
  await feed.until((m) => m.type === "assertion:result", "the assertion, from the database");
  await new Promise((r) => setTimeout(r, 100));
  // The same events either way (times aside: the feed uses the rows' own, which are the lines').
  const key = (m: Record<string, unknown>) => JSON.stringify(m);
  const norm = (ms: Record<string, unknown>[]) => ms.filter((m) => m.type !== "execution:status").map(key).sort();
  assert.deepEqual(norm(live.inbox.concat([started])), norm(feed.inbox));
  w.close();
  live.ws.close();
  feed.ws.close();
});
