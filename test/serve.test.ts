/**
 * `obs serve` as a user runs it: a real process on a real socket of 127.0.0.1, clients
 * connecting with ws. What is checked is the protocol's promises: a token, when set, is
 * required of every connection; the replay is the execution's last 100 events, in order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { at, dbWith } from "./query-helpers.js";
import { startServe } from "./serve-helpers.js";

/** What a connection attempt ends in: "open", or the HTTP status the upgrade was refused with. */
function attempt(url: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on("open", () => {
      ws.close();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
    ws.on("error", (e) => resolve(`error: ${e.message}`));
  });
}

test("with --token, a connection without it, or with another, is refused with 401; with it, it opens", async (t) => {
  const db = await dbWith([{ kind: "execution:status", execution_id: "e", timestamp: at(0), status: "started" }]);
  const served = await startServe(db, ["--token", "s3cret"]);
  t.after(() => served.stop());
  assert.equal(await attempt(`${served.url}?observability=e`), "401");
  assert.equal(await attempt(`${served.url}?observability=all`), "401");
  assert.equal(await attempt(`${served.url}?observability=e&token=`), "401");
  assert.equal(await attempt(`${served.url}?observability=e&token=S3CRET`), "401");
  assert.equal(await attempt(`${served.url}?observability=e&token=s3cret`), "open");
  assert.equal(await served.stop(), 0);
});

test("the replay is exactly the execution's last 100 events, oldest first, and bufferedEventCount says 100", async (t) => {
  // 150 transcript entries, one a second: each is one event; the last 100 are n51…n150.
  const lines = Array.from({ length: 150 }, (_, i) => ({
    kind: "transcript:entry", execution_id: "long", timestamp: at(i), entry_type: "checkpoint", category: "c", summary: `n${i + 1}`,
  }));
  // Another execution's events are never part of this one's replay.
  lines.push({ kind: "transcript:entry", execution_id: "other", timestamp: at(200), entry_type: "checkpoint", category: "c", summary: "other" });
  const db = await dbWith(lines);
  const served = await startServe(db);
  t.after(() => served.stop());
  const ws = new WebSocket(`${served.url}?observability=long`);
  const inbox: Record<string, unknown>[] = [];
  ws.on("message", (d) => inbox.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise((r) => ws.once("open", r));
  // The pong to a ping comes after everything the server sent before it: the whole replay.
  ws.send(JSON.stringify({ type: "ping" }));
  for (const end = Date.now() + 10_000; !inbox.some((m) => m.type === "pong") && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  ws.close();
  assert.equal(inbox.pop()?.type, "pong");
  const [connected, ...replay] = inbox;
  assert.equal(connected!.type, "observability:connected");
  assert.equal(connected!.bufferedEventCount, 100);
  assert.equal(replay.length, 100);
  assert.deepEqual(
    replay.map((e) => `${e.type} ${(e.entry as { summary: string }).summary} ${e.timestamp}`),
    Array.from({ length: 100 }, (_, i) => `transcript:entry n${i + 51} ${at(i + 50)}`),
  );
});
