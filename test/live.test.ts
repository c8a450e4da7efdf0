import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import React from "react";
import { render } from "ink-testing-library";
import WebSocket from "ws";
import { ChangeFeed } from "../src/live/feed.js";
import type { StreamEvent } from "../src/live/events.js";
import { TailView, type TailViewProps } from "../src/live/view.js";
import { serve } from "../src/live/serve.js";
import { openWritable } from "../src/db/write.js";
import { BIN, cli, ROOT, tmpDir, writeJsonl } from "./helpers.js";
import { at, cleanRun, dbWith, line, slowCallAmongShort } from "./query-helpers.js";

const E = (s: number, kind: string, f: Record<string, unknown> = {}) => line("e", s, kind, f);

async function ingest(db: string, lines: Record<string, unknown>[]): Promise<void> {
  const r = await cli(["ingest", writeJsonl(path.join(tmpDir(), "more.jsonl"), lines), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
}

test("the feed turns new rows into seed 003's events, and notices rows that change in place", async () => {
  const db = await dbWith([E(0, "execution:status", { status: "started" }), E(0, "wave:status", { wave_id: "w", wave_number: 1, status: "running", task_ids: ["t1"] })]);
  const feed = new ChangeFeed(db, { executionId: "e" });
  feed.skipToEnd();
  assert.deepEqual(feed.poll(), [], "nothing new yet");
  await ingest(db, [
    E(1, "tool:start", { tool_use_id: "tu", tool: "Bash", input: { command: "npm test" }, task_id: "t1", instance_id: "a1" }),
    E(1, "skill:start", { skill_trace_id: "sk", skill_name: "validation", skill_file: "S.md", line_number: 3, section_title: "x", task_id: "t1" }),
    E(2, "assertion:result", { assertion_id: "r1", task_id: "t1", category: "tests_pass", description: "d", result: "pass" }),
    E(3, "assertion:result", { assertion_id: "r2", task_id: "t1", category: "tests_pass", description: "d", result: "fail" }),
    E(4, "agent:heartbeat", { instance_id: "a1", status: "working", current_task_id: "t1" }),
  ]);
  const first = feed.poll();
  // Interleaved by time; within one moment, the transcript's entries come before the rows they restate.
  assert.deepEqual(first.map((e) => e.type), ["transcript:entry", "transcript:entry", "tool:start", "skill:start", "transcript:entry", "assertion:result", "transcript:entry", "assertion:result", "agent:heartbeat"]);
  const start = first.find((e) => e.type === "tool:start")!;
  assert.deepEqual(start, { type: "tool:start", timestamp: at(1), executionId: "e", toolUseId: "tu", tool: "Bash", inputSummary: "npm test", taskId: "t1", instanceId: "a1" });
  const rates = first.filter((e) => e.type === "assertion:result").map((e) => (e as { runningPassRate: number }).runningPassRate);
  assert.deepEqual(rates, [1, 0.5]);

  // The tool call and the skill end later: their rows change in place.
  await ingest(db, [
    E(6, "tool:end", { tool_use_id: "tu", is_error: true, error_message: "2 failed" }),
    E(7, "skill:end", { skill_trace_id: "sk", status: "failed", error: "tests" }),
    E(8, "task:status", { task_id: "t1", status: "failed", wave_id: "w" }),
    E(9, "wave:status", { wave_id: "w", wave_number: 1, status: "failed" }),
    E(10, "execution:status", { status: "failed", message: "tests failed" }),
  ]);
  const second = feed.poll().filter((e) => e.type !== "transcript:entry");
  assert.deepEqual(second.map((e) => e.type), ["tool:end", "skill:end", "wave:status", "execution:status"]);
  assert.deepEqual(second[0], { type: "tool:end", timestamp: at(6), executionId: "e", toolUseId: "tu", tool: "Bash", resultStatus: "error", durationMs: 5000, isError: true, isBlocked: false, taskId: "t1", errorMessage: "2 failed", instanceId: "a1" });
  assert.deepEqual(second[2], { type: "wave:status", timestamp: at(9), executionId: "e", waveNumber: 1, status: "failed", taskCount: 1, completedCount: 0, failedCount: 1 });
  assert.deepEqual(second[3], { type: "execution:status", timestamp: at(10), executionId: "e", status: "failed", message: "tests failed" });

  // Another producer writing the tables directly is seen the same way.
  const w = openWritable(db);
  w.prepare(`INSERT INTO events (id, execution_id, timestamp, source, event_type, severity, human_summary) VALUES ('py', 'e', ?, 'python', 'note', 'error', 'from python')`).run(at(11));
  w.close();
  const third = feed.poll();
  assert.equal(third.length, 1);
  assert.equal(third[0]!.type, "messagebus:event");
  assert.equal((third[0] as { requiresAction: boolean }).requiresAction, true);
  feed.close();
});

test("the feed's backlog is the last events, oldest first, and only this execution's", async () => {
  const db = await dbWith([...cleanRun("one"), ...cleanRun("two", "tl", 100)]);
  const feed = new ChangeFeed(db, { executionId: "two" });
  const last = feed.backlog(5);
  // cleanRun("two") from 100 s: its bus event at 112, then the heartbeats, the wave and the run ending.
  assert.deepEqual(last.map((e) => `${e.executionId} ${e.type} ${e.timestamp}`), [
    `two messagebus:event ${at(112)}`, `two agent:heartbeat ${at(121)}`, `two agent:heartbeat ${at(122)}`, `two wave:status ${at(123)}`, `two execution:status ${at(124)}`,
  ]);
  feed.close();
  // From cleanRun's lines at 120 s and after (task statuses are no events of the stream), on a
  // new feed: one feed reports a status once, and the first backlog already did.
  const fresh = new ChangeFeed(db, { executionId: "two" });
  const since = fresh.backlog(5, at(120));
  fresh.close();
  assert.deepEqual(since.map((e) => `${e.type} ${e.timestamp}`), [`agent:heartbeat ${at(121)}`, `agent:heartbeat ${at(122)}`, `wave:status ${at(123)}`, `execution:status ${at(124)}`]);
});

test("the backlog is the last events by time, not by the order files were ingested: a later run ingested first still ends it", async (t) => {
  const DAY = 86_400;
  // Run "late" (two days on, two calls) is ingested first; run "early" (30 calls) after it, so
  // early's rows have the higher rowids though every one of them happened before late began.
  const L = (s: number, kind: string, f: Record<string, unknown> = {}) => line("late", 2 * DAY + s, kind, f);
  const late = [
    L(0, "execution:status", { status: "started" }),
    L(1, "tool:start", { tool_use_id: "l1", tool: "Read", input: { file_path: "a.ts" }, instance_id: "la" }),
    L(2, "tool:end", { tool_use_id: "l1", is_error: false }),
    L(3, "agent:heartbeat", { instance_id: "la", status: "working" }),
    L(4, "tool:start", { tool_use_id: "l2", tool: "Bash", input: { command: "make" }, instance_id: "la" }),
    L(5, "tool:end", { tool_use_id: "l2", is_error: false }),
    L(6, "execution:status", { status: "completed" }),
  ];
  const early = [
    line("early", 0, "execution:status", { status: "started" }),
    ...Array.from({ length: 30 }, (_, i) => [
      line("early", 1 + 2 * i, "tool:start", { tool_use_id: `e${i}`, tool: "Read", input: { file_path: `f${i}.ts` }, instance_id: "ea" }),
      line("early", 2 + 2 * i, "tool:end", { tool_use_id: `e${i}`, is_error: false }),
    ]).flat(),
    line("early", 100, "execution:status", { status: "completed" }),
  ];
  const db = await dbWith(late);
  await ingest(db, early);
  const notEntries = (e: StreamEvent) => e.type !== "transcript:entry";
  const feed = new ChangeFeed(db, {});
  const last = feed.backlog(5, undefined, notEntries);
  feed.close();
  const T = (s: number) => at(2 * DAY + s);
  assert.deepEqual(last.map((e) => `${e.executionId} ${e.type} ${e.timestamp}`), [
    `late tool:end ${T(2)}`, `late agent:heartbeat ${T(3)}`, `late tool:start ${T(4)}`, `late tool:end ${T(5)}`, `late execution:status ${T(6)}`,
  ]);
  // Reaching back across both runs: early's end, then late from its first call, in time order.
  const wide = new ChangeFeed(db, {});
  const more = wide.backlog(8, undefined, notEntries);
  wide.close();
  assert.deepEqual(more.map((e) => `${e.executionId} ${e.type} ${e.timestamp}`), [
    `early tool:end ${at(60)}`, `early execution:status ${at(100)}`, `late tool:start ${T(1)}`, ...last.map((e) => `${e.executionId} ${e.type} ${e.timestamp}`),
  ]);
  // The same through the CLI, in a pipe: the lines name their executions.
  // (Following every execution, tail does not end: it is stopped once it has printed the three.)
  const child = spawn(process.execPath, [BIN, "tail", "--last", "3", "--type", "tool:end,execution:status", "--db", db], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  t.after(() => child.kill("SIGKILL"));
  const lines = await lineReader(child).until(3);
  child.kill("SIGINT");
  assert.deepEqual(lines.map((l) => l.split(/ {2,}/).slice(0, 3).join(" | ")), [
    "09:00:02.000 | late | la", "09:00:05.000 | late | la", "09:00:06.000 | late | execution:status",
  ]);
});

test("the backlog has the end of a call that began before its reach, and a wave whose row is old but ended within it", async () => {
  const db = await dbWith([
    E(0, "execution:status", { status: "started" }),
    E(1, "wave:status", { wave_id: "w1", wave_number: 1, status: "running", task_ids: ["t1"] }),
    ...slowCallAmongShort("e"),
    E(89, "task:status", { task_id: "t1", status: "completed", wave_id: "w1" }),
    E(90, "wave:status", { wave_id: "w1", wave_number: 1, status: "completed" }),
  ]);
  const feed = new ChangeFeed(db, { executionId: "e" });
  const last = feed.backlog(3, undefined, (e) => e.type === "tool:end" || e.type === "wave:status");
  feed.close();
  // Both rows were written first (the call's row and the wave's change in place as they end).
  assert.deepEqual(last.map((e) => `${e.type} ${e.timestamp}`), [`tool:end ${at(81)}`, `tool:end ${at(85)}`, `wave:status ${at(90)}`]);
  assert.equal((last[1] as { toolUseId: string }).toolUseId, "slow");
});

/** A child's stdout as lines, with a way to wait until there are `n` of them. */
function lineReader(child: ReturnType<typeof spawn>) {
  const lines: string[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return {
    lines,
    async until(n: number, timeoutMs = 10_000): Promise<string[]> {
      for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
        if (lines.length >= n) return lines.slice(0, n);
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`timed out with ${lines.length}/${n} lines: ${lines.join("\n")}`);
    },
  };
}

test("obs tail --json in a pipe prints the last events, then each new one as NDJSON, while another process ingests", async (t) => {
  const db = await dbWith(cleanRun("e"));
  // The run is over: --follow keeps following it.
  const child = spawn(process.execPath, [BIN, "tail", "e", "--json", "--follow", "--last", "3", "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  const out = lineReader(child);
  const backlog = await out.until(3);
  assert.deepEqual(backlog.map((l) => JSON.parse(l).type), ["agent:heartbeat", "wave:status", "execution:status"]);
  await ingest(db, [
    E(30, "tool:start", { tool_use_id: "live", tool: "Read", input: { file_path: "x.ts" } }),
    E(31, "tool:end", { tool_use_id: "live", is_error: false }),
  ]);
  const all = await out.until(6);
  assert.deepEqual(all.slice(3).map((l) => JSON.parse(l).type), ["transcript:entry", "tool:start", "tool:end"]);
  child.kill("SIGINT");
  const code = await new Promise((r) => child.on("exit", r));
  assert.equal(code, 0);
});

test("obs tail in a pipe prints plain lines, hides entries that restate a tool call, and filters", async (t) => {
  const db = await dbWith(cleanRun("e"));
  const child = spawn(process.execPath, [BIN, "tail", "e", "--last", "1", "--errors", "--follow", "--db", db], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  t.after(() => child.kill("SIGKILL"));
  const out = lineReader(child);
  // A first error, and its line, show that tail is following (live or from its backlog of 1).
  await ingest(db, [
    E(28, "tool:start", { tool_use_id: "first", tool: "Bash", input: { command: "make clean" } }),
    E(29, "tool:end", { tool_use_id: "first", is_error: true, error_message: "nothing to clean" }),
  ]);
  const [first] = await out.until(1);
  assert.match(first!, /^09:00:29\.000 +tool:end +Bash error 1\.0s — nothing to clean$/);
  await ingest(db, [
    E(30, "tool:start", { tool_use_id: "ok", tool: "Read", input: { file_path: "x.ts" } }),
    E(31, "tool:end", { tool_use_id: "ok", is_error: false }),
    E(32, "tool:start", { tool_use_id: "bad", tool: "Bash", input: { command: "make" } }),
    E(33, "tool:end", { tool_use_id: "bad", is_error: true, error_message: "make: *** no rule" }),
  ]);
  const [, l] = await out.until(2);
  assert.match(l!, /^09:00:33\.000 +tool:end +Bash error 1\.0s — make: \*\*\* no rule$/);
  // One commit, printed in time order: a line for the Read (at 30–31 s) would have come first.
  assert.equal(out.lines.length, 2, "the successful Read and its restating entry are not errors");
  child.kill("SIGINT");
  await new Promise((r) => child.on("exit", r));
});

const VIEW: TailViewProps = {
  header: { executionId: "exec-7", status: "running", elapsedMs: 125_000, toolCalls: 42, errors: 3, passRate: 0.875, tokens: 12_345, costUsd: 0.42 },
  waves: [
    { waveNumber: 1, status: "completed", total: 4, completed: 4, failed: 0, running: 0 },
    { waveNumber: 2, status: "running", total: 4, completed: 1, failed: 1, running: 2 },
  ],
  agents: [
    { instanceId: "agent-1", status: "working", taskId: "task-5", sinceHeartbeatMs: 12_000, silent: false },
    { instanceId: "agent-2", status: "working", taskId: "task-6", sinceHeartbeatMs: 400_000, silent: true },
  ],
  lines: [
    { key: 1, event: { type: "tool:start", timestamp: "2026-01-16T09:00:01.000Z", executionId: "exec-7", toolUseId: "t", tool: "Read", inputSummary: "src/a.ts", instanceId: "agent-1" } },
    { key: 2, event: { type: "tool:end", timestamp: "2026-01-16T09:00:02.500Z", executionId: "exec-7", toolUseId: "t", tool: "Bash", resultStatus: "error", durationMs: 1500, isError: true, errorMessage: "exit 1" } },
  ],
  paused: false,
  pending: 0,
  errorsOnly: false,
  finished: null,
  width: 100,
};

test("the tail view renders header, waves, agents (silent marked) and the feed at a fixed width", () => {
  const { lastFrame, unmount } = render(React.createElement(TailView, VIEW));
  const frame = lastFrame()!;
  for (const l of frame.split("\n")) assert.ok([...l].length <= 100, `wider than 100: ${l}`);
  assert.match(frame, /^09:00:01\.000 {2}agent-1 +tool:start +Read src\/a\.ts$/m);
  assert.match(frame, /^09:00:02\.500 +tool:end +Bash error 1\.5s — exit 1$/m);
  // 103 characters of header in a box 96 wide inside: what does not fit goes to the next line, whole.
  assert.match(frame, /│ exec-7 {2}running {2}elapsed 2m 05s {2}tool calls 42 {2}errors 3 {2}pass rate 87\.5% {2}tokens 12,345 +│\n│ {3}cost \$0\.4200 +│/);
  assert.match(frame, /wave {2}1 █{20} {2}4\/4 done {2}completed/);
  // Of 4 tasks in 20 cells: 1 done (5 cells), 1 failed (5), 2 running (10).
  assert.match(frame, /wave {2}2 █{5}▓{5}▒{10} {2}1\/4 done, 1 failed, 2 running {2}running/);
  assert.match(frame, /│ █ done {2}▓ failed {2}▒ running {2}· not started +│/);
  assert.match(frame, /agent-1 +working +task-5 +last heartbeat 12\.0s ago/);
  assert.match(frame, /agent-2 +working +task-6 +last heartbeat 6m 40s ago {2}SILENT/);
  assert.match(frame, /following {2}· {2}p pause {2}e errors only {2}q quit/);
  unmount();
});

test("paused, the tail view draws no line of the feed in the box, only how many events wait; a finished run says so", () => {
  const following = render(React.createElement(TailView, { ...VIEW, errorsOnly: true, finished: "exec-7 failed" }));
  const height = following.lastFrame()!.split("\n").length;
  following.unmount();
  const paused = render(React.createElement(TailView, { ...VIEW, paused: true, pending: 7, errorsOnly: true, finished: "exec-7 failed" }));
  const frame = paused.lastFrame()!;
  assert.match(frame, /exec-7 failed: the run is over {2}PAUSED \(7 new\) {2}\[errors only\] {2}· {2}p resume {2}e errors only +│\n│ {3}q quit/);
  assert.doesNotMatch(frame, /p pause/, "one action for p");
  assert.equal(frame.match(/Bash error 1\.5s/g)?.length, 1, "the line once, above the box");
  assert.equal(frame.split("\n").length, height, "as tall as following");
  paused.unmount();
});

test("the footer is as tall paused as following, so p never moves the feed", () => {
  // From 30 to 50 columns the paused footer needs a line more than the following one: both take the most.
  for (const width of [30, 40, 50, 60, 100]) {
    const heights = [false, true].map((paused) => {
      const v = render(React.createElement(TailView, { ...VIEW, width, paused, pending: 1234, finished: "exec-7 failed" }));
      const n = v.lastFrame()!.split("\n").length;
      v.unmount();
      return n;
    });
    assert.equal(heights[0], heights[1], `at ${width} columns`);
  }
});

test("obs ingest --follow: a line split across writes, new files, a truncation, and a kill and restart lose and repeat nothing", async (t) => {
  const dir = tmpDir();
  const src = path.join(dir, "runs");
  fs.mkdirSync(src);
  const db = path.join(dir, "obs.db");
  const entry = (n: number) => JSON.stringify({ kind: "transcript:entry", execution_id: "f", timestamp: at(n), entry_type: "checkpoint", category: "c", summary: `n${n}` });
  const count = () => {
    const w = openWritable(db);
    try {
      return (w.prepare(`SELECT group_concat(summary, ',') AS s FROM (SELECT summary FROM transcript_entries ORDER BY sequence)`).get() as { s: string | null }).s ?? "";
    } finally {
      w.close();
    }
  };
  const children: ReturnType<typeof spawn>[] = [];
  // What each follower said and how it ended, for a wait that times out to say.
  const said: { stderr: string; ended?: string }[] = [];
  const waitFor = async (want: string) => {
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      if (fs.existsSync(db) && count() === want) return;
    }
    assert.equal(count(), want, said.map((f, i) => `follower ${i + 1} (${f.ended ?? "running"}) said: ${f.stderr || "nothing"}`).join("\n"));
  };
  t.after(() => children.forEach((c) => c.kill("SIGKILL")));
  const start = () => {
    const c = spawn(process.execPath, [BIN, "ingest", "--follow", src, "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
    const f: { stderr: string; ended?: string } = { stderr: "" };
    c.stderr!.on("data", (d) => (f.stderr += d));
    c.on("exit", (code, signal) => (f.ended = `exit ${code ?? signal}`));
    said.push(f);
    children.push(c);
    return c;
  };
  let child = start();
  const file = path.join(src, "a.jsonl");
  fs.writeFileSync(file, entry(1) + "\n" + entry(2).slice(0, 30));
  await waitFor("n1");
  fs.appendFileSync(file, entry(2).slice(30) + "\n");
  await waitFor("n1,n2");
  fs.writeFileSync(path.join(src, "b.jsonl"), entry(3) + "\n");
  await waitFor("n1,n2,n3");
  // Killed without warning, then started again: it goes on from ingest_log.
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  fs.appendFileSync(file, entry(4) + "\n");
  child = start();
  await waitFor("n1,n2,n3,n4");
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  fs.writeFileSync(file, entry(5) + "\n"); // truncated and rewritten
  await waitFor("n1,n2,n3,n4,n5");
  child.kill("SIGINT");
  const code = await new Promise((r) => child.on("exit", r));
  assert.equal(code, 0, "Ctrl-C commits and exits 0");
  assert.match(stderr, /a\.jsonl: truncated; reading it from the start/);
  // A follower says how long it followed, not a rate its idle time would bring to 0 lines/s.
  assert.match(stderr, /^followed 2 sources for \S+: /m);
});

test("obs serve: connect, replay, subscribe with filters, ping, a malformed message, and live delivery", async (t) => {
  const db = await dbWith(cleanRun("e"));
  const server = await serve({ dbPath: db, host: "127.0.0.1", port: 0, intervalMs: 10 });
  const ws = new WebSocket(`${server.url}?observability=e`);
  t.after(async () => {
    ws.terminate();
    await server.close();
  });
  const inbox: Record<string, unknown>[] = [];
  const next = (pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = inbox.findIndex(pred);
      if (found >= 0) return resolve(inbox.splice(found, 1)[0]!);
      const timer = setTimeout(() => reject(new Error(`no such message; got ${inbox.map((m) => m.type).join(", ")}`)), timeoutMs);
      const check = () => {
        const i = inbox.findIndex(pred);
        if (i >= 0) {
          clearTimeout(timer);
          ws.off("message", check);
          resolve(inbox.splice(i, 1)[0]!);
        }
      };
      ws.on("message", check);
    });
  ws.on("message", (d) => inbox.push(JSON.parse(d.toString())));
  const connected = await next((m) => m.type === "observability:connected");
  assert.equal(connected.executionId, "e");
  const replayed = connected.bufferedEventCount as number;
  assert.ok(replayed > 10 && replayed <= 100);
  // A ping's pong comes after everything sent before it: the whole replay, and nothing more.
  ws.send(JSON.stringify({ type: "ping" }));
  await next((m) => m.type === "pong");
  assert.equal(inbox.length, replayed, "the replay follows the connected message");
  inbox.length = 0;

  ws.send("{not json");
  assert.deepEqual(Object.keys(await next((m) => m.type === "observability:error")), ["type", "timestamp", "error", "code"]);
  ws.send(JSON.stringify({ action: "subscribe", topic: "nonsense" }));
  assert.equal((await next((m) => m.type === "observability:error")).code, "INVALID_MESSAGE");
  ws.send(JSON.stringify({ type: "ping" }));
  await next((m) => m.type === "pong");
  ws.send(JSON.stringify({ action: "unsubscribe", topic: "all" }));
  assert.equal((await next((m) => m.type === "observability:unsubscribed")).topic, "all");
  ws.send(JSON.stringify({ action: "subscribe", topic: "tools", filters: { tools: ["Bash"] } }));
  assert.equal((await next((m) => m.type === "observability:subscribed")).topic, "tools");
  assert.equal(ws.readyState, WebSocket.OPEN, "a malformed message does not cost the connection");

  const sent = Date.now();
  await ingest(db, [
    E(40, "tool:start", { tool_use_id: "r", tool: "Read", input: { file_path: "x" } }),
    E(41, "tool:start", { tool_use_id: "b", tool: "Bash", input: { command: "make" } }),
    E(42, "assertion:result", { assertion_id: "z", task_id: "t", category: "c", description: "d", result: "pass" }),
  ]);
  const bash = await next((m) => m.type === "tool:start");
  const delay = Date.now() - sent;
  assert.equal(bash.toolUseId, "b", "Read is filtered out, assertions are not subscribed");
  assert.ok(delay < 2000, `delivered after ${delay} ms`);
  // The assertion (at 42 s) would be sent right after the Bash call, before any pong.
  ws.send(JSON.stringify({ type: "ping" }));
  await next((m) => m.type === "pong");
  assert.deepEqual(inbox.map((m) => m.type), []);

  // Several clients at once, and cleanup when they leave.
  const other = new WebSocket(`${server.url}?observability=all`);
  await new Promise((r) => other.once("message", r));
  assert.equal(server.clients(), 2);
  other.close();
  ws.close();
  for (const end = Date.now() + 5000; server.clients() > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.clients(), 0);
});

test("serve refuses a wrong token and a missing observability parameter", async (t) => {
  const db = await dbWith(cleanRun("e"));
  const server = await serve({ dbPath: db, host: "127.0.0.1", port: 0, token: "s3cret" });
  t.after(() => server.close());
  const attempt = (q: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`${server.url}${q}`);
      ws.on("open", () => (ws.close(), resolve("open")));
      ws.on("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
      ws.on("error", () => resolve("error"));
    });
  assert.equal(await attempt("?observability=e&token=wrong"), "401");
  assert.equal(await attempt("?token=s3cret"), "400");
  assert.equal(await attempt("?observability=e&token=s3cret"), "open");
  const r = await cli(["serve", "--host", "0.0.0.0", "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /give --token/);
});

test("only tail loads ink and React, and only serve loads ws", () => {
  const dist = path.join(ROOT, "dist", "src");
  const files: string[] = [];
  const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith(".js") && files.push(path.join(d, e.name))));
  walk(dist);
  const importers = (pkg: RegExp) => files.filter((f) => pkg.test(fs.readFileSync(f, "utf8"))).map((f) => path.relative(dist, f)).sort();
  assert.deepEqual(importers(/^import .* from "(ink|react)(\/[^"]*)?";$/m), ["live/view.js"]);
  assert.deepEqual(importers(/^import .* from "ws";$/m), ["live/serve.js"]);
  // …and those modules are reached only through dynamic import().
  assert.deepEqual(importers(/^import .* from "[^"]*live\/(view|serve)\.js";$/m), []);
});

test("the live tail app: events arrive, p pauses and counts what waits, e shows errors only, q quits", async (t) => {
  const { TailApp } = await import("../src/live/view.js");
  const db = await dbWith(cleanRun("e"));
  const feed = new ChangeFeed(db, { executionId: "e" });
  const backlog = feed.backlog(3);
  // Quitting ends the app, which stops and closes the feed: that is what q is seen by.
  let feedClosed = false;
  const closeFeed = feed.close.bind(feed);
  feed.close = () => {
    feedClosed = true;
    closeFeed();
  };
  const io = { env: {}, columns: 100, isTTY: true } as never;
  const app = render(React.createElement(TailApp, { src: { feed, backlog, filter: {}, dbPath: db, executionId: "e", io } }));
  t.after(() => app.unmount());
  const waitFor = async (re: RegExp) => {
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      if (re.test(app.lastFrame() ?? "")) return app.lastFrame()!;
    }
    assert.match(app.lastFrame() ?? "", re);
    return "";
  };
  await waitFor(/e {2}completed {2}elapsed 24\.0s {2}tool calls 2 {2}errors 0 {2}pass rate 100\.0%/);
  await waitFor(/wave {2}1 █{20}/);
  await ingest(db, [E(30, "tool:start", { tool_use_id: "x", tool: "Grep", input: { pattern: "TODO" } })]);
  await waitFor(/tool:start +Grep TODO/);
  app.stdin.write("p");
  await waitFor(/PAUSED \(0 new\)/);
  await ingest(db, [E(31, "tool:end", { tool_use_id: "x", is_error: true, error_message: "grep exploded" })]);
  await waitFor(/PAUSED \(1 new\)/);
  app.stdin.write("p");
  await waitFor(/tool:end +Grep error 1\.0s — grep exploded[\s\S]*the run is over {2}· {2}p pause/);
  app.stdin.write("e");
  await waitFor(/the run is over {2}\[errors only\]/);
  assert.equal(feedClosed, false, "the feed runs until q");
  app.stdin.write("q");
  for (const end = Date.now() + 5000; !feedClosed && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
  assert.equal(feedClosed, true, "q quits: the app ends and closes its feed");
  // Nothing is drawn after quitting, whatever lands.
  const frames = app.frames.length;
  await ingest(db, [E(40, "tool:start", { tool_use_id: "late", tool: "Read", input: { file_path: "late.ts" } })]);
  assert.equal(app.frames.length, frames);
});
