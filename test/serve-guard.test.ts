/**
 * `obs serve` against hostile or careless clients and machines: pages of other origins and
 * rebound host names are refused; a client that never reads costs a bounded amount of memory
 * and is told what it missed; a busy or invalid port ends the command at once; execution ids
 * are resolved as the CLI resolves them; and a write it receives is never lost to a reader in
 * another process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawnSync } from "node:child_process";
import WebSocket from "ws";
import { BIN, cli, one, tmpDb, tmpDir } from "./helpers.js";
import { claudeLogs, post, startServe } from "./serve-helpers.js";
import { at, dbWith } from "./query-helpers.js";

/** `p`, or a failure naming what never came after `ms` (the timer does not outlive the wait). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a connection attempt ends in: "open", or the status and body the upgrade was refused with. */
function attempt(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("open", () => {
      ws.close();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d));
      res.on("end", () => resolve(`${res.statusCode} ${body.trim()}`));
    });
    ws.on("error", (e) => resolve(`error: ${e.message}`));
  });
}

test("the WebSocket refuses a foreign Origin and a Host that is not the address served, unless --allow-origin names it", async (t) => {
  const db = await dbWith([{ kind: "execution:status", execution_id: "e", timestamp: at(0), status: "started" }]);
  const served = await startServe(db, ["--allow-origin", "https://dash.example"]);
  t.after(() => served.stop());
  const url = `${served.url}?observability=e`;
  const port = new URL(served.url).port;
  assert.match(await attempt(url, { origin: "https://evil.example" }), /^403 Origin https:\/\/evil\.example is not allowed/);
  assert.match(await attempt(url, { host: `rebound.example:${port}` }), /^403 Host "rebound\.example:\d+" is not the address served/);
  assert.equal(await attempt(url, { origin: "https://dash.example" }), "open");
  assert.equal(await attempt(url, { origin: `http://localhost:${port}`, host: `localhost:${port}` }), "open");
  assert.equal(await attempt(url), "open", "programs other than browsers send no Origin");
  const bad = await cli(["serve", "--allow-origin", "dash.example/x", "--db", db]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--allow-origin takes an origin like http:\/\/localhost:3000/);
});

test("execution ids as the CLI takes them: a unique prefix is the execution; an ambiguous one is a 400 listing them, an unknown one a 404 naming the closest, none a 400 that says what to give", async (t) => {
  const db = await dbWith([
    { kind: "transcript:entry", execution_id: "exec-901", timestamp: at(0), entry_type: "checkpoint", category: "c", summary: "first" },
    { kind: "transcript:entry", execution_id: "exec-912", timestamp: at(1), entry_type: "checkpoint", category: "c", summary: "second" },
  ]);
  const served = await startServe(db);
  t.after(() => served.stop());
  const ws = new WebSocket(`${served.url}?observability=exec-90`);
  const inbox: Record<string, unknown>[] = [];
  ws.on("message", (d) => inbox.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once("open", r));
  ws.send(JSON.stringify({ type: "ping" }));
  for (const end = Date.now() + 5000; !inbox.some((m) => m.type === "pong") && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  ws.close();
  assert.equal(inbox[0]!.executionId, "exec-901");
  assert.deepEqual(inbox.filter((m) => m.type === "transcript:entry").map((m) => (m.entry as { summary: string }).summary), ["first"]);

  assert.match(await attempt(`${served.url}?observability=exec-9`), /^400 execution 'exec-9' is ambiguous: it starts 2 ids; did you mean exec-901, exec-912\?$/);
  assert.match(await attempt(`${served.url}?observability=exec-903`), /^404 no execution 'exec-903'; closest: exec-901, exec-912$/);
  assert.match(await attempt(served.url), /^400 say which execution to follow: \/ws\?observability=<execution id, a unique prefix of one, or all>$/);
  assert.equal(await attempt(`${served.url}?observability=all`), "open");
});

test("a busy port or an invalid one ends obs serve at once with exit 2, saying which", async (t) => {
  const db = await dbWith([{ kind: "execution:status", execution_id: "e", timestamp: at(0), status: "started" }]);
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  t.after(() => blocker.close());
  const busy = (blocker.address() as net.AddressInfo).port;
  const run = (args: string[]) => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [BIN, "serve", "--db", db, ...args], { encoding: "utf8", timeout: 15_000 });
    return { code: r.status, stderr: r.stderr, ms: Date.now() - started };
  };
  const ws = run(["--port", String(busy), "--otlp-port", "0"]);
  assert.equal(ws.code, 2, ws.stderr);
  assert.equal(ws.stderr, `obs: port ${busy} on 127.0.0.1 (the event stream) is in use; choose another with --port\n`);
  assert.ok(ws.ms < 10_000);
  const otlp = run(["--port", "0", "--otlp-port", String(busy)]);
  assert.equal(otlp.code, 2, otlp.stderr);
  assert.equal(otlp.stderr, `obs: port ${busy} on 127.0.0.1 (OpenTelemetry) is in use; choose another with --otlp-port, or serve without OpenTelemetry with --no-otlp\n`);
  for (const args of [["--port", "99999"], ["--otlp-port", "-1"], ["--port", "http"]]) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /must be a port from 0 \(any free one\) to 65535/);
  }
});

test("clients that never read: obs serve's memory stays bounded while a big run streams; a client that falls behind is told how many events it missed", async (t) => {
  const db = await dbWith([{ kind: "execution:status", execution_id: "big", timestamp: at(0), status: "started" }]);
  const served = await startServe(db, ["--no-otlp"]);
  t.after(() => served.stop());
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${served.pid}/status`, "utf8"))![1]) * 1024;
  // Clients whose socket is never read: the server's writes to them pile up.
  const stalled: WebSocket[] = [];
  for (let i = 0; i < 12; i++) {
    const ws = new WebSocket(`${served.url}?observability=all`);
    await new Promise((r) => ws.once("open", r));
    (ws as unknown as { _socket: net.Socket })._socket.pause();
    stalled.push(ws);
  }
  t.after(() => stalled.forEach((w) => w.terminate()));
  const before = rss();
  // 12,000 entries with 4 kB of details each: ~50 MB of events, sent to each of 12 clients would be ~600 MB.
  const pad = "x".repeat(4000);
  const lines = Array.from({ length: 12_000 }, (_, i) => JSON.stringify({ kind: "transcript:entry", execution_id: "big", timestamp: at(1 + i / 1000), entry_type: "checkpoint", category: "c", summary: `n${i}`, details: { pad } }));
  const file = path.join(tmpDir(), "big.jsonl");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  // The server has streamed the run when a reading client sees its last entry.
  const reader = new WebSocket(`${served.url}?observability=big`);
  const seen = new Promise<void>((resolve) => reader.on("message", (d) => String(d).includes('"summary":"n11999"') && resolve()));
  await within(seen, 60_000, "the run did not stream");
  reader.close();
  let peak = rss();
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, rss());
  }
  assert.ok(peak - before < 200 * 1024 * 1024, `obs serve grew by ${Math.round((peak - before) / 1048576)} MB for clients that never read`);
  // One of them starts reading: after the events it still had queued, it hears how many it missed.
  const late = stalled[0]!;
  const notice = new Promise<Record<string, unknown>>((resolve) => late.on("message", (d) => {
    const m = JSON.parse(String(d)) as Record<string, unknown>;
    if (m.code === "EVENTS_DROPPED") resolve(m);
  }));
  (late as unknown as { _socket: net.Socket })._socket.resume();
  const m = await within(notice, 20_000, "no EVENTS_DROPPED notice");
  assert.equal(m.type, "observability:error");
  assert.ok(Number(m.dropped) > 1000, `it missed ${String(m.dropped)} events`);
  assert.match(String(m.error), /events were not sent: this connection fell behind/);
});

test("a row obs serve receives is seen by readers in other processes, even after another process closed its connection last", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const send = (session: string) => post(`${served.otlp}/v1/logs`, JSON.stringify(claudeLogs([{ at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": session, "prompt.id": `${session}-p`, "event.sequence": 1 } }])), { "content-type": "application/json" });
  assert.equal((await send("one")).status, 200);
  // A client asks for a replay (the server opens and closes a reader of its own) ...
  assert.equal(await attempt(`${served.url}?observability=one`), "open");
  // ... and another process opens the file and closes it, as the last connection would.
  // (Python's sqlite3, the system's SQLite, deletes the -wal when it thinks itself the last connection.)
  const other = spawnSync("python3", ["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT COUNT(*) FROM sqlite_master').fetchall(); c.close()", db], { encoding: "utf8" });
  assert.equal(other.status, 0, other.stderr);
  assert.equal((await send("two")).status, 200);
  assert.deepEqual(one(db, `SELECT group_concat(id, ',') AS ids FROM (SELECT id FROM task_list_execution_runs ORDER BY id)`), { ids: "one,two" });
});
