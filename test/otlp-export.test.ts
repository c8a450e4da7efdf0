/**
 * OpenTelemetry out: `obs export --endpoint` pushes a run over OTLP/HTTP, retrying while the
 * receiver answers 429 or 503, and says what was sent; pushed to another `obs serve`, the run
 * comes back with the same tool calls, tokens and cost. Its spans follow the GenAI conventions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import { all, BIN, one, spawnCli, tmpDb, tmpDir } from "./helpers.js";
import { startServe } from "./serve-helpers.js";

function exportTo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "export", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const demoDb = (() => {
  let made: string | undefined;
  return () => {
    if (!made) {
      made = path.join(tmpDir(), "demo.db");
      assert.equal(spawnCli(["demo", "--db", made]).code, 0);
    }
    return made;
  };
})();

test("obs export --endpoint to another obs serve: the same tool calls, tokens and cost, protobuf or JSON", async (t) => {
  const a = demoDb();
  const b = tmpDb();
  const served = await startServe(b);
  t.after(() => served.stop());
  const r = await exportTo(["exec-103", "--db", a, "--endpoint", served.otlp]);
  assert.equal(r.code, 0, r.stderr);
  const n = (sql: string) => Number(Object.values(one(a, sql)!)[0]);
  const tools = n(`SELECT COUNT(*) FROM tool_uses WHERE execution_id = 'exec-103' AND start_time IS NOT NULL`);
  const calls = n(`SELECT COUNT(*) FROM llm_calls WHERE execution_id = 'exec-103'`);
  const tasks = n(`SELECT COUNT(*) FROM tasks WHERE execution_id = 'exec-103'`);
  assert.match(r.stderr, new RegExp(`^obs: sent exec-103 to ${served.otlp}/v1/traces: ${1 + tasks + tools + calls} spans \\(1 run, ${tasks} tasks, ${tools} tool calls, ${calls} model calls\\) as protobuf, [\\d.]+ kB, in 1 attempt; it accepted all\\n$`));

  const toolRows = (db: string) => all(db, `SELECT id, tool, tool_category, input_summary, result_status, is_error, is_blocked, start_time, end_time, duration_ms, task_id FROM tool_uses WHERE execution_id = 'exec-103' AND start_time IS NOT NULL ORDER BY id`);
  const llmRows = (db: string) => all(db, `SELECT id, model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cost_usd, start_time, end_time, task_id, response_id FROM llm_calls WHERE execution_id = 'exec-103' ORDER BY id`);
  assert.equal(toolRows(b).length, tools);
  assert.deepEqual(toolRows(b), toolRows(a));
  assert.deepEqual(llmRows(b), llmRows(a));
  const totals = (db: string) => one(db, `SELECT SUM(input_tokens) i, SUM(output_tokens) o, SUM(cache_read_tokens) r, SUM(cache_write_tokens) w, ROUND(SUM(cost_usd), 9) c FROM llm_calls WHERE execution_id = 'exec-103'`);
  assert.deepEqual(totals(b), totals(a));
  assert.deepEqual(all(b, `SELECT id, status, started_at FROM task_list_execution_runs`), all(a, `SELECT id, status, started_at FROM task_list_execution_runs WHERE id = 'exec-103'`));

  // Sent again, as JSON: the same rows, nothing added.
  const again = await exportTo(["exec-103", "--db", a, "--endpoint", `${served.otlp}/v1/traces`, "--protocol", "http/json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, "");
  assert.match(again.stderr, /it accepted all/);
  assert.match(again.stderr, /as JSON/);
  assert.deepEqual(toolRows(b), toolRows(a));
  assert.deepEqual(llmRows(b), llmRows(a));
});

test("the exported spans follow the GenAI conventions: every span names its operation and provider; input tokens count the cache parts, which have attributes of their own", () => {
  const a = demoDb();
  const r = spawnCli(["export", "exec-103", "--otlp", "--db", a]);
  assert.equal(r.code, 0, r.stderr);
  type Attr = { key: string; value: { stringValue?: string; intValue?: string } };
  const spans = JSON.parse(r.stdout).resourceSpans[0].scopeSpans[0].spans as { name: string; attributes: Attr[] }[];
  const attr = (s: { attributes: Attr[] }, k: string) => s.attributes.find((x) => x.key === k)?.value;
  for (const s of spans) {
    assert.ok(attr(s, "gen_ai.operation.name")?.stringValue, `${s.name}: gen_ai.operation.name`);
    assert.ok(attr(s, "gen_ai.provider.name")?.stringValue, `${s.name}: gen_ai.provider.name`);
    assert.equal(attr(s, "gen_ai.conversation.id")?.stringValue, "exec-103");
  }
  const row = one(a, `SELECT id, provider, input_tokens, cache_read_tokens, cache_write_tokens, COALESCE(cache_write_1h_tokens, 0) AS w1h FROM llm_calls WHERE execution_id = 'exec-103' AND cache_read_tokens > 0 AND cache_write_tokens > 0 ORDER BY id LIMIT 1`)!;
  const chat = spans.find((s) => attr(s, "obs.llm_call_id")?.stringValue === row.id)!;
  assert.equal(attr(chat, "gen_ai.provider.name")?.stringValue, row.provider ?? "anthropic");
  assert.equal(Number(attr(chat, "gen_ai.usage.input_tokens")?.intValue), Number(row.input_tokens) + Number(row.cache_read_tokens) + Number(row.cache_write_tokens) + Number(row.w1h));
  assert.equal(Number(attr(chat, "gen_ai.usage.cache_read.input_tokens")?.intValue), row.cache_read_tokens);
  assert.equal(Number(attr(chat, "gen_ai.usage.cache_creation.input_tokens")?.intValue), Number(row.cache_write_tokens) + Number(row.w1h));
});

/** A collector that answers each request with the next of `answers` (the last one from then on), and counts them. */
async function collector(answers: { status: number; headers?: Record<string, string>; body?: string }[]): Promise<{ url: string; hits: () => number; close: () => void }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const a = answers[Math.min(hits, answers.length - 1)]!;
      hits++;
      res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
      res.end(a.body ?? "");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits, close: () => server.close() };
}

test("obs export --endpoint retries on 429 and 503 as long as the collector asks, and reports a partial success; a 400 is final", async (t) => {
  const a = demoDb();
  const busy = await collector([
    { status: 503, headers: { "retry-after": "0" }, body: '{"code":14,"message":"warming up"}' },
    { status: 429, headers: { "retry-after": "0" } },
    { status: 200, body: '{"partialSuccess":{"rejectedSpans":"2","errorMessage":"2 spans too old"}}' },
  ]);
  t.after(() => busy.close());
  const r = await exportTo(["exec-103", "--db", a, "--endpoint", busy.url, "--header", "x-api-key=k1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(busy.hits(), 3);
  assert.match(r.stderr, /answered 503 Service Unavailable \(warming up\); attempt 2 in 0\.0 s/);
  assert.match(r.stderr, /answered 429 Too Many Requests; attempt 3 in 0\.0 s/);
  assert.match(r.stderr, /in 3 attempts; it rejected 2 spans: 2 spans too old\n$/);

  const refusing = await collector([{ status: 400, body: '{"code":3,"message":"bad trace"}' }]);
  t.after(() => refusing.close());
  const no = await exportTo(["exec-103", "--db", a, "--endpoint", refusing.url]);
  assert.equal(no.code, 2);
  assert.equal(refusing.hits(), 1);
  assert.match(no.stderr, /^obs: could not send exec-103: .* refused the trace with 400 Bad Request: bad trace\n$/);

  const bad = await exportTo(["exec-103", "--db", a, "--endpoint", "collector:4318"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--endpoint must be http:\/\/ or https:\/\/|--endpoint takes a URL/);
  const header = await exportTo(["exec-103", "--db", a, "--endpoint", refusing.url, "--header", "nonsense"]);
  assert.equal(header.code, 2);
  assert.match(header.stderr, /--header takes NAME=VALUE/);
});

test("a port fetch never sends to is said at once, not retried for half a minute", () => {
  const a = demoDb();
  const started = Date.now();
  const r = spawnCli(["export", "exec-103", "--endpoint", "http://127.0.0.1:6000", "--db", a]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^obs: could not send exec-103: cannot send to http:\/\/127\.0\.0\.1:6000\/v1\/traces: Node's fetch refuses port 6000/m);
  assert.doesNotMatch(r.stderr, /attempt 2/);
  assert.ok(Date.now() - started < 15_000, "no backoff");
});
