/**
 * The live marker of a loop: obs tail reports the moment an agent's repeated calls become a
 * loop (D007) — once, at the call that made it one — in its JSON and plain lines and its view.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import React from "react";
import { render } from "ink-testing-library";
import { ChangeFeed } from "../src/live/feed.js";
import type { StreamEvent } from "../src/live/events.js";
import { TailView } from "../src/live/view.js";
import { BIN, cli, tmpDir, writeJsonl } from "./helpers.js";
import { at, dbWith, line } from "./query-helpers.js";

/** The k-th poll of agent a1 (a Bash call every 10 s), and a Read between polls when `between`. */
const poll = (k: number, agent = "a1") => [
  line("e", k * 10, "tool:start", { tool_use_id: `${agent}-p${k}`, tool: "Bash", input: { command: "gh run view 42" }, instance_id: agent }),
  line("e", k * 10 + 1, "tool:end", { tool_use_id: `${agent}-p${k}`, is_error: false }),
];
const started = line("e", 0, "execution:status", { status: "started" });

async function ingest(db: string, lines: Record<string, unknown>[]): Promise<void> {
  const r = await cli(["ingest", writeJsonl(path.join(tmpDir(), "more.jsonl"), lines), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
}
const loops = (events: StreamEvent[]) => events.filter((e) => e.type === "loop:start");

test("the feed marks the call that makes a loop, once, and not again as the loop goes on", async () => {
  const db = await dbWith([started, ...[0, 1, 2, 3].flatMap((k) => poll(k))]);
  const feed = new ChangeFeed(db, { executionId: "e", loops: true });
  feed.skipToEnd();
  await ingest(db, poll(4));
  assert.deepEqual(loops(feed.poll()), [{
    type: "loop:start", timestamp: at(40), executionId: "e", instanceId: "a1", tool: "Bash", inputSummary: "gh run view 42",
    calls: 5, firstAt: at(0), firstToolUseId: "a1-p0", toolUseId: "a1-p4", inARow: true,
  }]);
  await ingest(db, [...poll(5), ...poll(6)]);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(loops(feed.poll()), [], "the same loop going on is no new marker");
  // Another agent starting the same loop is a loop of its own.
  await ingest(db, [0, 1, 2, 3, 4].flatMap((k) => poll(k + 10, "a2")));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(loops(feed.poll()).map((e) => [e.timestamp, (e as { instanceId: string }).instanceId]), [[at(140), "a2"]]);
  feed.close();
});

test("a loop that started before the feed attached is old news when it goes on; the backlog shows it in its place", async () => {
  const db = await dbWith([started, ...[0, 1, 2, 3, 4, 5].flatMap((k) => poll(k))]);
  const feed = new ChangeFeed(db, { executionId: "e", loops: true });
  feed.skipToEnd();
  await ingest(db, poll(6));
  assert.deepEqual(loops(feed.poll()), []);
  feed.close();
  const again = new ChangeFeed(db, { executionId: "e", loops: true });
  const backlog = again.backlog(100);
  const i = backlog.findIndex((e) => e.type === "loop:start");
  assert.equal(backlog[i]!.timestamp, at(40));
  assert.ok(backlog.slice(0, i).every((e) => e.timestamp <= at(40)) && backlog.slice(i + 1).every((e) => e.timestamp >= at(40)), "in time order");
  again.close();
  // A feed not asked for loops (obs serve's) reports none.
  const plain = new ChangeFeed(db, { executionId: "e" });
  assert.deepEqual(loops(plain.backlog(100)), []);
  plain.close();
});

function lineReader(child: ReturnType<typeof spawn>) {
  const lines: string[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop()!;
    lines.push(...parts);
  });
  return {
    lines,
    until: async (pred: (l: string) => boolean, ms = 10_000) => {
      const t0 = Date.now();
      while (!lines.some(pred)) {
        if (Date.now() - t0 > ms) throw new Error(`timed out; got:\n${lines.join("\n")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return lines.find(pred)!;
    },
  };
}

test("obs tail in a pipe: the marker as a JSON event, and as a plain line", async (t) => {
  const db = await dbWith([started, ...[0, 1, 2].flatMap((k) => poll(k))]);
  const json = spawn(process.execPath, [BIN, "tail", "e", "--json", "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  const plain = spawn(process.execPath, [BIN, "tail", "e", "--type", "loop:start,tool:start", "--db", db], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  t.after(() => {
    json.kill("SIGKILL");
    plain.kill("SIGKILL");
  });
  const j = lineReader(json);
  const p = lineReader(plain);
  await j.until((l) => l.includes('"a1-p2"'));
  await p.until((l) => l.includes("tool:start"));
  await ingest(db, [3, 4].flatMap((k) => poll(k)));
  const marker = JSON.parse(await j.until((l) => l.includes('"loop:start"')));
  assert.deepEqual(marker, {
    type: "loop:start", timestamp: at(40), executionId: "e", instanceId: "a1", tool: "Bash", inputSummary: "gh run view 42",
    calls: 5, firstAt: at(0), firstToolUseId: "a1-p0", toolUseId: "a1-p4", inARow: true,
  });
  const text = await p.until((l) => l.includes("loop:start"));
  assert.match(text, /^09:00:40\.000 +a1 +loop:start +LOOP Bash gh run view 42 — the same call 5 times in a row since 09:00:00\.000 \(D007\)$/);
  // It comes after the call that made the loop.
  const order = p.lines.filter((l) => l.includes("a1") || l.includes("loop:start"));
  assert.match(order[order.length - 2]!, /tool:start +Bash gh run view 42/);
  json.kill("SIGINT");
  plain.kill("SIGINT");
  assert.equal(await new Promise((r) => json.on("exit", r)), 0);
});

test("with calls landing 0.2 s apart through ingest --follow, the marker comes right after the call that made the loop", async (t) => {
  const dir = tmpDir();
  const runs = path.join(dir, "runs");
  fs.mkdirSync(runs);
  const file = path.join(runs, "a.jsonl");
  const db = path.join(dir, "obs.db");
  const now = () => new Date().toISOString();
  fs.writeFileSync(file, JSON.stringify({ ...started, timestamp: now() }) + "\n");
  assert.equal((await cli(["ingest", runs, "--db", db])).code, 0);
  const follow = spawn(process.execPath, [BIN, "ingest", "--follow", runs, "--db", db], { stdio: ["ignore", "ignore", "pipe"] });
  const tail = spawn(process.execPath, [BIN, "tail", "e", "--ndjson", "--type", "tool:start,tool:end,loop:start", "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => {
    follow.kill("SIGKILL");
    tail.kill("SIGKILL");
  });
  const out = lineReader(tail);
  // Both have started once the follower has read the file and tail prints what it writes.
  const probe = (id: string) => fs.appendFileSync(file, JSON.stringify({ kind: "tool:start", execution_id: "e", timestamp: now(), tool_use_id: id, tool: "Read", input: { file_path: id }, instance_id: "a1" }) + "\n");
  probe("warm-up");
  await out.until((l) => l.includes('"warm-up"'), 20_000);
  const call = (kind: string, k: number) => JSON.stringify({ kind, execution_id: "e", timestamp: now(), tool_use_id: `p${k}`, ...(kind === "tool:start" ? { tool: "Bash", input: { command: "gh run view 42" }, instance_id: "a1" } : { is_error: false }) });
  for (let k = 0; k < 7; k++) {
    fs.appendFileSync(file, call("tool:start", k) + "\n");
    await new Promise((r) => setTimeout(r, 100));
    fs.appendFileSync(file, call("tool:end", k) + "\n");
    await new Promise((r) => setTimeout(r, 100));
  }
  await out.until((l) => l.includes('"p6"') && l.includes("tool:end"));
  const seen = out.lines.map((l) => JSON.parse(l) as StreamEvent & { toolUseId?: string }).filter((e) => e.toolUseId !== "warm-up").map((e) => `${e.type} ${e.toolUseId}`);
  assert.deepEqual(seen, [
    "tool:start p0", "tool:end p0", "tool:start p1", "tool:end p1", "tool:start p2", "tool:end p2", "tool:start p3", "tool:end p3",
    "tool:start p4", "loop:start p4", "tool:end p4", "tool:start p5", "tool:end p5", "tool:start p6", "tool:end p6",
  ]);
});

test("the live view shows the marker as a line of the feed", () => {
  const e: StreamEvent = {
    type: "loop:start", timestamp: at(40), executionId: "e", instanceId: "a1", tool: "Bash", inputSummary: "gh run view 42",
    calls: 5, firstAt: at(0), firstToolUseId: "a1-p0", toolUseId: "a1-p4", inARow: false,
  };
  const header = { executionId: "e", status: "running", elapsedMs: 40_000, toolCalls: 5, errors: 0, passRate: null, tokens: null, costUsd: null };
  const props = { header, waves: [], agents: [], lines: [{ key: 1, event: e }], paused: false, pending: 0, errorsOnly: false, finished: null };
  const { lastFrame, unmount } = render(React.createElement(TailView, { ...props, width: 100 }));
  // Wider than the terminal: what does not fit wraps under the text's column, nothing cut.
  assert.match(lastFrame()!, /^09:00:40\.000 {2}a1 +loop:start +LOOP Bash gh run view 42 — the same call 5 times/m);
  assert.match(lastFrame()!.replace(/\n {48}/g, " "), /LOOP Bash gh run view 42 — the same call 5 times since 09:00:00\.000 \(D007\)/);
  unmount();
});
