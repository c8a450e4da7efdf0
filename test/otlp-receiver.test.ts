/**
 * The OTLP/HTTP receiver's answers, as the OTLP spec has them, over real sockets: partial
 * success says how many items were rejected and why; a malformed body is a 400, another
 * content type a 415, an oversized body a 413, a missing token a 401, a foreign page a 403 — and
 * a refused request writes nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import Database from "better-sqlite3";
import { all, cli, one, tmpDb, tmpDir } from "./helpers.js";
import { attrs, claudeLogs, nanos, post, startServe } from "./serve-helpers.js";

const JSON_TYPE = { "content-type": "application/json" };
const counts = (db: string) =>
  one(db, `SELECT (SELECT COUNT(*) FROM task_list_execution_runs) runs, (SELECT COUNT(*) FROM transcript_entries) entries, (SELECT COUNT(*) FROM tool_uses) tools, (SELECT COUNT(*) FROM llm_calls) llm`);
const nothing = { runs: 0, entries: 0, tools: 0, llm: 0 };

test("refused as the OTLP spec says, and nothing written: a malformed body (400), another content type or encoding (415), an oversized or inflating body (413), a wrong method or path", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const logs = `${served.otlp}/v1/logs`;
  const good = JSON.stringify(claudeLogs([{ at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "s", "prompt.id": "p", "event.sequence": 1, prompt: "hi" } }]));

  const bad = await post(logs, '{"resourceLogs": [', JSON_TYPE);
  assert.equal(bad.status, 400);
  assert.equal(bad.type, "application/json");
  const status = JSON.parse(bad.body.toString()) as { code: number; message: string };
  assert.equal(status.code, 3, "google.rpc.Code INVALID_ARGUMENT");
  assert.match(status.message, /not JSON/);

  const shape = await post(logs, JSON.stringify({ resourceLogs: { not: "a list" } }), JSON_TYPE);
  assert.equal(shape.status, 400);
  assert.match(JSON.parse(shape.body.toString()).message, /resourceLogs must be an array/);

  // A protobuf body that is no export request: a Status in protobuf (field 1 code, field 2 message).
  const junk = await post(logs, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { "content-type": "application/x-protobuf" });
  assert.equal(junk.status, 400);
  assert.equal(junk.type, "application/x-protobuf");
  assert.equal(junk.body[0], 0x08, "Status.code comes first");
  assert.equal(junk.body[1], 3);
  assert.match(junk.body.subarray(4).toString(), /not a protobuf logs export request/);

  const text = await post(logs, good, { "content-type": "text/plain" });
  assert.equal(text.status, 415);
  assert.match(JSON.parse(text.body.toString()).message, /application\/x-protobuf or application\/json/);
  const br = await post(logs, good, { ...JSON_TYPE, "content-encoding": "br" });
  assert.equal(br.status, 415);

  const big = Buffer.alloc(20 * 1024 * 1024 + 1, 0x20);
  const over = await post(logs, big, JSON_TYPE);
  assert.equal(over.status, 413);
  assert.match(JSON.parse(over.body.toString()).message, /over 20971520 bytes/);
  // Small on the wire, past the limit once inflated.
  const bomb = await post(logs, zlib.gzipSync(Buffer.alloc(21 * 1024 * 1024, 0x20)), { ...JSON_TYPE, "content-encoding": "gzip" });
  assert.equal(bomb.status, 413);
  assert.match(JSON.parse(bomb.body.toString()).message, /inflates to more than/);
  const notGzip = await post(logs, Buffer.from("plain"), { ...JSON_TYPE, "content-encoding": "gzip" });
  assert.equal(notGzip.status, 400);

  const get = await fetch(logs);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  assert.equal((await post(`${served.otlp}/v1/profiles`, good, JSON_TYPE)).status, 404);

  assert.deepEqual(counts(db), nothing);
  // gzip itself is fine: the same request compressed is taken.
  const ok = await post(logs, zlib.gzipSync(good), { ...JSON_TYPE, "content-encoding": "gzip" });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body.toString()), {});
  assert.deepEqual(all(db, `SELECT id, title FROM tasks`), [{ id: "p", title: "hi" }]);
});

test("with --token: an export without the bearer token, or with another, is refused with 401 and writes nothing", async (t) => {
  const db = tmpDb();
  const served = await startServe(db, ["--token", "s3cret"]);
  t.after(() => served.stop());
  const body = JSON.stringify(claudeLogs([{ at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "s", "prompt.id": "p", "event.sequence": 1 } }]));
  const none = await post(`${served.otlp}/v1/logs`, body, JSON_TYPE);
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.body.toString()).code, 16, "UNAUTHENTICATED");
  assert.match(JSON.parse(none.body.toString()).message, /Authorization: Bearer/);
  assert.equal((await post(`${served.otlp}/v1/logs`, body, { ...JSON_TYPE, authorization: "Bearer S3CRET" })).status, 401);
  assert.deepEqual(counts(db), nothing);
  assert.equal((await post(`${served.otlp}/v1/logs`, body, { ...JSON_TYPE, authorization: "Bearer s3cret" })).status, 200);
  assert.equal(counts(db)!.runs, 1);
});

test("a web page cannot write: a foreign Origin or a Host that is not the address served is refused (403) unless --allow-origin names it", async (t) => {
  const db = tmpDb();
  const served = await startServe(db, ["--allow-origin", "http://localhost:3000"]);
  t.after(() => served.stop());
  const port = new URL(served.otlp).port;
  const body = JSON.stringify(claudeLogs([{ at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "s", "prompt.id": "p", "event.sequence": 1 } }]));
  // fetch cannot set Host: a raw request does, as a browser reaching a rebound name would.
  const raw = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      import("node:http").then(({ default: http }) => {
        const req = http.request({ host: "127.0.0.1", port, path: "/v1/logs", method: "POST", headers: { ...JSON_TYPE, ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
        req.end(body);
      }, reject);
    });
  assert.equal(await raw({ origin: "https://evil.example" }), 403);
  assert.equal(await raw({ host: `evil.example:${port}` }), 403);
  assert.equal(await raw({ host: `127.0.0.1:${Number(port) + 1}` }), 403);
  assert.deepEqual(counts(db), nothing);
  assert.equal(await raw({ origin: "http://localhost:3000" }), 200);
  assert.equal(await raw({ host: `localhost:${port}`, origin: `http://localhost:${port}` }), 200);
});

test("partial success: the records obs cannot place are counted and named, those it does not keep are said, and the rest are written", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const body = claudeLogs([
    { at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "s", "prompt.id": "p", "event.sequence": 1, prompt: "go" } },
    { at: "2026-03-02T10:00:01.000Z", name: "tool_result", a: { "prompt.id": "p", tool_name: "Bash", success: "true", duration_ms: "5" } },
    { at: "2026-03-02T10:00:02.000Z", name: "assistant_response", a: { "session.id": "s", "event.sequence": 2 } },
  ]);
  const r = await post(`${served.otlp}/v1/logs`, JSON.stringify(body), JSON_TYPE);
  assert.equal(r.status, 200);
  const p = JSON.parse(r.body.toString()).partialSuccess as { rejectedLogRecords: string; errorMessage: string };
  assert.equal(p.rejectedLogRecords, "1");
  assert.match(p.errorMessage, /rejected 1 log record: claude_code\.tool_result without session\.id ×1/);
  assert.match(p.errorMessage, /not kept 1 log record .*claude_code\.assistant_response ×1/);
  assert.deepEqual(counts(db), { runs: 1, entries: 1, tools: 0, llm: 0 });

  // Metrics are accepted, and the answer says obs keeps none (nothing rejected).
  const metrics = {
    resourceMetrics: [{
      resource: { attributes: attrs({ "service.name": "claude-code" }) },
      scopeMetrics: [{ metrics: [{ name: "claude_code.token.usage", sum: { dataPoints: [{ asInt: "5", timeUnixNano: nanos("2026-03-02T10:00:00.000Z") }, { asInt: "7", timeUnixNano: nanos("2026-03-02T10:00:00.000Z") }] } }] }],
    }],
  };
  const m = await post(`${served.otlp}/v1/metrics`, JSON.stringify(metrics), JSON_TYPE);
  assert.equal(m.status, 200);
  const mp = JSON.parse(m.body.toString()).partialSuccess;
  assert.equal(mp.rejectedDataPoints, "0");
  assert.match(mp.errorMessage, /kept no metrics .*metric claude_code\.token\.usage ×2/);
  assert.deepEqual(counts(db), { runs: 1, entries: 1, tools: 0, llm: 0 });
});

test("obs ingest reads the Collector's file exporter output (one export request per line) into the same rows as the receiver, and again adds nothing", async (t) => {
  const lines = [
    claudeLogs([
      { at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "f", "prompt.id": "p1", "event.sequence": 1, prompt: "one" } },
      { at: "2026-03-02T10:00:02.000Z", name: "tool_result", a: { "session.id": "f", "prompt.id": "p1", "event.sequence": 2, tool_name: "Grep", success: "true", duration_ms: "40", tool_use_id: "toolu_f1", tool_parameters: '{"pattern":"x"}' } },
    ]),
    {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "claude_code.cost.usage", sum: { dataPoints: [{ asDouble: 0.1 }] } }] }] }],
    },
    claudeLogs([
      { at: "2026-03-02T10:00:05.000Z", name: "api_request", a: { "session.id": "f", "prompt.id": "p1", "event.sequence": 3, model: "claude-sonnet-4-5", input_tokens: "10", output_tokens: "20", cost_usd: "0.5", duration_ms: "900" } },
      { at: "2026-03-02T10:00:09.000Z", name: "user_prompt", a: { "session.id": "f", "prompt.id": "p2", "event.sequence": 4, prompt: "two" } },
    ]),
  ];
  const file = path.join(tmpDir(), "otel-export.jsonl");
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  const fromFile = tmpDb();
  const r = await cli(["ingest", file, "--db", fromFile]);
  assert.equal(r.code, 0, r.stderr);

  const live = tmpDb();
  const served = await startServe(live);
  t.after(() => served.stop());
  for (const l of lines) {
    const signal = "resourceLogs" in l ? "logs" : "metrics";
    assert.equal((await post(`${served.otlp}/v1/${signal}`, JSON.stringify(l), JSON_TYPE)).status, 200);
  }
  const rows = (db: string) => ({
    tasks: all(db, `SELECT id, title, status, started_at, completed_at FROM tasks ORDER BY id`),
    tools: all(db, `SELECT id, tool, input_summary, result_status, duration_ms, task_id FROM tool_uses ORDER BY id`),
    llm: all(db, `SELECT id, input_tokens, output_tokens, cost_usd, duration_ms, task_id FROM llm_calls ORDER BY id`),
    entries: all(db, `SELECT id, sequence, entry_type, summary FROM transcript_entries ORDER BY sequence`),
  });
  const got = rows(fromFile);
  assert.deepEqual(got.tasks, [
    { id: "p1", title: "one", status: "completed", started_at: "2026-03-02T10:00:00.000Z", completed_at: "2026-03-02T10:00:09.000Z" },
    { id: "p2", title: "two", status: "running", started_at: "2026-03-02T10:00:09.000Z", completed_at: null },
  ]);
  assert.deepEqual(got.tools, [{ id: "toolu_f1", tool: "Grep", input_summary: "x", result_status: "done", duration_ms: 40, task_id: "p1" }]);
  assert.deepEqual(got.llm, [{ id: "f/e3#llm", input_tokens: 10, output_tokens: 20, cost_usd: 0.5, duration_ms: 900, task_id: "p1" }]);
  assert.deepEqual(rows(live), got);
  assert.equal(one(fromFile, `SELECT format FROM ingest_log`)!.format, "otlp-json");

  const again = await cli(["ingest", file, "--db", fromFile]);
  assert.equal(again.code, 0);
  assert.deepEqual(rows(fromFile), got);
  // A line that is no export request is named by its line, as any bad line is.
  fs.appendFileSync(file, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: "x" }] }] }] }) + "\n");
  const broken = await cli(["ingest", file, "--db", tmpDb()]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /otel-export\.jsonl:4: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\] has no traceId/);
});

test("Codex's events (its [otel] log export): the conversation a run, a prompt its task, a denied call blocked, a tool result with its arguments and output, a completed response a model call, a failed request an error", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const codex = (at: string, name: string, a: Record<string, string | number>) => ({
    timeUnixNano: nanos(at), attributes: attrs({ "event.name": name, "event.timestamp": at, "conversation.id": "cx-1", model: "gpt-5.4", "app.version": "0.50.0", ...a }),
  });
  const body = {
    resourceLogs: [{
      resource: { attributes: attrs({ "service.name": "codex_cli_rs" }) },
      scopeLogs: [{ logRecords: [
        codex("2026-03-02T10:00:00.000Z", "codex.conversation_starts", { provider_name: "OpenAI", approval_policy: "on-request", sandbox_policy: "workspace-write" }),
        codex("2026-03-02T10:00:01.000Z", "codex.user_prompt", { prompt: "add a test", prompt_length: 10 }),
        codex("2026-03-02T10:00:04.000Z", "codex.sse_event", { "event.kind": "response.output_text.delta", duration_ms: 3 }),
        codex("2026-03-02T10:00:05.000Z", "codex.sse_event", { "event.kind": "response.completed", input_token_count: 1000, cached_token_count: 800, output_token_count: 50, reasoning_token_count: 20, tool_token_count: 0, duration_ms: 3000 }),
        codex("2026-03-02T10:00:06.000Z", "codex.tool_decision", { tool_name: "shell", call_id: "call_a", decision: "approved", source: "config" }),
        codex("2026-03-02T10:00:08.000Z", "codex.tool_result", { tool_name: "shell", call_id: "call_a", arguments: '{"command":["npm","test"]}', duration_ms: 1500, success: "true", output: "1 passing" }),
        codex("2026-03-02T10:00:09.000Z", "codex.tool_decision", { tool_name: "shell", call_id: "call_b", decision: "denied", source: "user" }),
        codex("2026-03-02T10:00:10.000Z", "codex.api_request", { attempt: 1, duration_ms: 200, "http.response.status_code": 500, "error.message": "upstream error" }),
      ] }],
    }],
  };
  const r = await post(`${served.otlp}/v1/logs`, JSON.stringify(body), JSON_TYPE);
  assert.equal(r.status, 200);
  assert.match(JSON.parse(r.body.toString()).partialSuccess.errorMessage, /not kept 1 log record .*codex\.sse_event response\.output_text\.delta ×1/);
  const task = one(db, `SELECT id, title, status FROM tasks WHERE execution_id = 'cx-1'`)!;
  assert.deepEqual({ title: task.title, status: task.status }, { title: "add a test", status: "running" });
  assert.deepEqual(all(db, `SELECT id, tool, input, input_summary, output, result_status, block_reason, duration_ms, task_id FROM tool_uses WHERE execution_id = 'cx-1' ORDER BY start_time`), [
    { id: "call_a", tool: "shell", input: '{"command":["npm","test"]}', input_summary: "npm test", output: '"1 passing"', result_status: "done", block_reason: null, duration_ms: 1500, task_id: task.id },
    { id: "call_b", tool: "shell", input: "{}", input_summary: "(input not logged)", output: null, result_status: "blocked", block_reason: "denied (user)", duration_ms: 0, task_id: task.id },
  ]);
  // OpenAI counts cached input inside input tokens: 1000 in, 800 of them cached. Priced by the table
  // (gpt-5.4: $2.50 input, $15 output, $0.25 cached per million): 200 × 2.5 + 50 × 15 + 800 × 0.25 = 1450 millionths.
  assert.deepEqual(all(db, `SELECT model, provider, input_tokens, cache_read_tokens, output_tokens, reasoning_tokens, round(cost_usd, 10) AS cost_usd, duration_ms, task_id FROM llm_calls WHERE execution_id = 'cx-1'`), [
    { model: "gpt-5.4", provider: "openai", input_tokens: 200, cache_read_tokens: 800, output_tokens: 50, reasoning_tokens: 20, cost_usd: 0.00145, duration_ms: 3000, task_id: task.id },
  ]);
  assert.deepEqual(all(db, `SELECT entry_type, category, summary FROM transcript_entries WHERE execution_id = 'cx-1' ORDER BY sequence`).map((e) => `${e.entry_type}/${e.category}: ${e.summary}`), [
    "checkpoint/session: Codex session started (gpt-5.4, OpenAI)",
    "task_start/user: add a test",
    "decision/permission: shell: approved (config)",
    "tool_use/tool: shell: npm test",
    "decision/permission: shell: denied (user)",
    "tool_use/tool: shell: (input not logged)",
    "error/api_error: API error 500: upstream error",
  ]);
});

test("obs serve prices what it receives without a cost with --prices (or $OBS_PRICES), as obs ingest does; a bad table stops it before it listens", async (t) => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const prices = path.join(dir, "prices.json");
  // 1,000,000 input at $2 and 500,000 output at $8 per million: $2 + $4 = $6.
  fs.writeFileSync(prices, JSON.stringify({ "house-model": { input: 2, output: 8, cache_read: 0.2, cache_write: 2.5 } }));
  const served = await startServe(db, ["--prices", prices]);
  t.after(() => served.stop());
  const r = await post(`${served.otlp}/v1/logs`, JSON.stringify(claudeLogs([
    { at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "priced", "prompt.id": "p1", "event.sequence": 1, prompt_length: "5" } },
    { at: "2026-03-02T10:00:05.000Z", name: "api_request", a: { "session.id": "priced", "prompt.id": "p1", "event.sequence": 2, model: "house-model", input_tokens: "1000000", output_tokens: "500000", duration_ms: "900" } },
  ])), JSON_TYPE);
  assert.equal(r.status, 200, r.body.toString());
  assert.deepEqual(all(db, "SELECT model, cost_usd FROM llm_calls WHERE execution_id = 'priced'"), [{ model: "house-model", cost_usd: 6 }]);

  fs.writeFileSync(prices, "{ not json");
  const bad = await cli(["serve", "--port", "0", "--otlp-port", "0", "--db", db], { env: { OBS_PRICES: prices } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^obs: cannot read the price table .*prices\.json/m);
});

test("a time or duration no calendar holds rejects its record (partial success), never a 500; the rest of the request is written", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const logs = claudeLogs([
    { at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "cal", "prompt.id": "p", "event.sequence": 1, prompt: "go" } },
    { at: "2026-03-02T10:00:01.000Z", name: "tool_result", a: { "session.id": "cal", "prompt.id": "p", "event.sequence": 2, tool_use_id: "far", tool_name: "Bash", success: "true", duration_ms: "1e300" } },
    { at: "2026-03-02T10:00:02.000Z", name: "tool_result", a: { "session.id": "cal", "prompt.id": "p", "event.sequence": 3, tool_use_id: "near", tool_name: "Bash", success: "true", duration_ms: "5" } },
  ]);
  const r = await post(`${served.otlp}/v1/logs`, JSON.stringify(logs), JSON_TYPE);
  assert.equal(r.status, 200, r.body.toString());
  const p = JSON.parse(r.body.toString()).partialSuccess as { rejectedLogRecords: string; errorMessage: string };
  assert.equal(p.rejectedLogRecords, "1");
  assert.match(p.errorMessage, /a duration that puts its start before any calendar/);
  assert.deepEqual(all(db, "SELECT id FROM tool_uses WHERE execution_id = 'cal' ORDER BY id").map((x) => x.id), ["near"]);

  const spans = {
    resourceSpans: [{
      resource: { attributes: attrs({ "service.name": "agent" }) },
      scopeSpans: [{ spans: [{ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "chat m", kind: 3,
        startTimeUnixNano: 1e30, endTimeUnixNano: 1e30, attributes: attrs({ "gen_ai.operation.name": "chat", "gen_ai.conversation.id": "cal2" }) }] }],
    }],
  };
  const s = await post(`${served.otlp}/v1/traces`, JSON.stringify(spans), JSON_TYPE);
  assert.equal(s.status, 200, s.body.toString());
  const sp = JSON.parse(s.body.toString()).partialSuccess as { rejectedSpans: string; errorMessage: string };
  assert.equal(sp.rejectedSpans, "1");
  assert.match(sp.errorMessage, /no calendar holds/);
  assert.doesNotMatch(served.stderr(), /internal error/);
});

test("while another writer holds the database the receiver answers 503 at once, and stays responsive; released, the retry is written", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const body = JSON.stringify(claudeLogs([
    { at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "busy", "prompt.id": "p", "event.sequence": 1, prompt: "go" } },
  ]));
  // Another program holds the write lock, as an obs ingest does for a whole step.
  const other = new Database(db);
  other.exec("BEGIN IMMEDIATE");
  try {
    const times: number[] = [];
    const answers = await Promise.all(Array.from({ length: 8 }, async () => {
      const t0 = Date.now();
      const r = await post(`${served.otlp}/v1/logs`, body, JSON_TYPE);
      times.push(Date.now() - t0);
      return r;
    }));
    for (const r of answers) {
      assert.equal(r.status, 503, r.body.toString());
      assert.match(JSON.parse(r.body.toString()).message, /busy with another writer; retry/);
    }
    // Eight requests queued behind the lock are all answered well within an exporter's patience.
    assert.ok(Math.max(...times) < 2_000, `answered in ${Math.max(...times)} ms`);
    const get = Date.now();
    assert.equal((await fetch(`${served.otlp}/v1/logs`)).status, 405);
    assert.ok(Date.now() - get < 1_000, "a request that writes nothing is not held up");
  } finally {
    other.exec("ROLLBACK");
    other.close();
  }
  const again = await post(`${served.otlp}/v1/logs`, body, JSON_TYPE);
  assert.equal(again.status, 200, again.body.toString());
  assert.equal(one(db, "SELECT COUNT(*) AS n FROM tasks WHERE execution_id = 'busy'")!.n, 1);
});

test("a request body that trickles in is answered 408 when its time is up and its connection closed; the receiver goes on", async (t) => {
  const { startOtlpReceiver } = await import("../src/otlp/receiver.js");
  const net = await import("node:net");
  const receiver = await startOtlpReceiver({ dbPath: tmpDb(), host: "127.0.0.1", port: 0, bodyTimeoutMs: 800 });
  t.after(() => receiver.close());
  const u = new URL(receiver.url);
  const started = Date.now();
  const answer = await new Promise<{ head: string; closed: boolean }>((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let head = "";
    s.write(`POST /v1/logs HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    const drip = setInterval(() => s.writable && s.write("{"), 100);
    s.on("data", (d) => (head += d.toString()));
    s.on("close", () => {
      clearInterval(drip);
      resolve({ head, closed: true });
    });
    s.on("error", () => undefined);
  });
  assert.match(answer.head, /^HTTP\/1\.1 408 /);
  assert.match(answer.head, /did not arrive within 1 s/);
  assert.ok(Date.now() - started < 10_000, `closed after ${Date.now() - started} ms`);
  const ok = await post(`${receiver.url}/v1/logs`, JSON.stringify(claudeLogs([{ at: "2026-03-02T10:00:00.000Z", name: "user_prompt", a: { "session.id": "after", "prompt.id": "p", "event.sequence": 1 } }])), JSON_TYPE);
  assert.equal(ok.status, 200);
});
