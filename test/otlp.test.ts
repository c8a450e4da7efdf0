/**
 * OpenTelemetry in: a test process uses the real OpenTelemetry JS SDK (its logs and trace SDKs
 * with their OTLP/HTTP exporters, protobuf and JSON) against a running `obs serve`, as Claude
 * Code and GenAI-instrumented agents do, and the rows are checked one by one against values
 * worked out by hand from what was sent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from "@opentelemetry/sdk-logs";
import sdkTrace from "@opentelemetry/sdk-trace";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { context, trace, SpanStatusCode, type Span } from "@opentelemetry/api";
import { all, BIN, one, tmpDb } from "./helpers.js";
import { startServe } from "./serve-helpers.js";

const { TracerProvider, SimpleSpanProcessor } = sdkTrace;

const T0 = Date.parse("2026-03-02T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** Claude Code's events of one session as its SDK emits them: body the event name, attributes as Claude Code sets them (numbers as text). */
function claudeSession(session: string): { ms: number; body: string; attributes: Record<string, string | number> }[] {
  const base = (seq: number, name: string, prompt?: string) => ({ "session.id": session, "event.name": name, "event.sequence": seq, "event.timestamp": "", ...(prompt ? { "prompt.id": prompt } : {}) });
  const P1 = `${session}-p1`;
  const P2 = `${session}-p2`;
  return [
    { ms: T0, body: "claude_code.user_prompt", attributes: { ...base(1, "user_prompt", P1), prompt: "fix the failing test", prompt_length: "20" } },
    { ms: T0 + 1000, body: "claude_code.tool_decision", attributes: { ...base(2, "tool_decision", P1), tool_name: "Bash", decision: "accept", source: "config", tool_use_id: `${session}-toolu_1` } },
    {
      ms: T0 + 3000, body: "claude_code.tool_result",
      attributes: { ...base(3, "tool_result", P1), tool_name: "Bash", success: "true", duration_ms: "1500", tool_use_id: `${session}-toolu_1`, tool_parameters: JSON.stringify({ bash_command: "npm", full_command: "npm test" }), tool_result_size_bytes: "2048" },
    },
    {
      ms: T0 + 9000, body: "claude_code.api_request",
      attributes: { ...base(4, "api_request", P1), model: "claude-sonnet-4-5", input_tokens: "120", output_tokens: "450", cache_read_tokens: "30000", cache_creation_tokens: "2000", cost_usd: "0.0421", duration_ms: "5200", request_id: `${session}-req_1` },
    },
    { ms: T0 + 10_000, body: "claude_code.tool_result", attributes: { ...base(5, "tool_result", P1), tool_name: "Read", success: "false", error: "File does not exist", duration_ms: "12", tool_use_id: `${session}-toolu_2` } },
    { ms: T0 + 11_000, body: "claude_code.api_error", attributes: { ...base(6, "api_error", P1), model: "claude-sonnet-4-5", error: "Overloaded", status_code: "529", attempt: "1", duration_ms: "800" } },
    { ms: T0 + 20_000, body: "claude_code.user_prompt", attributes: { ...base(7, "user_prompt", P2), prompt: "<REDACTED>", prompt_length: "42" } },
    { ms: T0 + 21_000, body: "claude_code.tool_decision", attributes: { ...base(8, "tool_decision", P2), tool_name: "Write", decision: "reject", source: "user_reject", tool_use_id: `${session}-toolu_3` } },
    { ms: T0 + 22_000, body: "claude_code.assistant_response", attributes: { ...base(9, "assistant_response", P2), response: "<REDACTED>" } },
  ].map((r) => ({ ...r, attributes: { ...r.attributes, "event.timestamp": new Date(r.ms).toISOString() } }));
}

async function emitLogs(exporter: LogRecordExporter, records: ReturnType<typeof claudeSession>): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "claude-code", "service.version": "2.1.0" }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger("com.anthropic.claude_code.events", "2.1.0");
  for (const r of records) logger.emit({ body: r.body, timestamp: r.ms, attributes: r.attributes });
  await provider.forceFlush();
  await provider.shutdown();
}

/** The session's rows, in a stable order, without the columns that say when obs wrote them. */
function rowsOf(db: string, session: string) {
  return {
    run: one(db, `SELECT id, status, started_at FROM task_list_execution_runs WHERE id = ?`, session),
    tasks: all(db, `SELECT id, title, status, started_at, completed_at FROM tasks WHERE execution_id = ? ORDER BY started_at`, session),
    tools: all(db, `SELECT id, tool, input_summary, result_status, is_error, is_blocked, block_reason, error_message, output_summary, start_time, end_time, duration_ms, task_id,
                           (SELECT instance_id FROM transcript_entries te WHERE te.id = t.transcript_entry_id) AS agent
                      FROM tool_uses t WHERE execution_id = ? ORDER BY start_time`, session),
    llm: all(db, `SELECT id, model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, start_time, end_time, duration_ms, task_id, instance_id, response_id
                    FROM llm_calls WHERE execution_id = ?`, session),
    entries: all(db, `SELECT sequence, entry_type, category, summary, task_id FROM transcript_entries WHERE execution_id = ? ORDER BY sequence`, session),
    agents: all(db, `SELECT id, status, agent_type FROM build_agent_instances WHERE execution_id = ?`, session),
  };
}

test("Claude Code's log events through the OpenTelemetry SDK (protobuf and JSON exporters) become a run's rows, and an export sent again adds nothing", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  await emitLogs(new ProtoLogExporter({ url: `${served.otlp}/v1/logs` }), claudeSession("sess-proto"));
  await emitLogs(new JsonLogExporter({ url: `${served.otlp}/v1/logs` }), claudeSession("sess-json"));

  const S = "sess-proto";
  const r = rowsOf(db, S);
  assert.deepEqual(r.run, { id: S, status: "running", started_at: at(0) });
  // The first prompt ends when the second starts; a prompt not logged says so, with its length.
  assert.deepEqual(r.tasks, [
    { id: `${S}-p1`, title: "fix the failing test", status: "completed", started_at: at(0), completed_at: at(20) },
    { id: `${S}-p2`, title: "(prompt not logged; 42 characters)", status: "running", started_at: at(20), completed_at: null },
  ]);
  assert.deepEqual(r.tools, [
    {
      id: `${S}-toolu_1`, tool: "Bash", input_summary: "npm test", result_status: "done", is_error: 0, is_blocked: 0, block_reason: null, error_message: null,
      output_summary: "(output not logged; 2048 bytes)", start_time: at(1.5), end_time: at(3), duration_ms: 1500, task_id: `${S}-p1`, agent: `${S}/main`,
    },
    {
      id: `${S}-toolu_2`, tool: "Read", input_summary: "(input not logged)", result_status: "error", is_error: 1, is_blocked: 0, block_reason: null, error_message: "File does not exist",
      output_summary: "File does not exist", start_time: at(9.988), end_time: at(10), duration_ms: 12, task_id: `${S}-p1`, agent: `${S}/main`,
    },
    {
      id: `${S}-toolu_3`, tool: "Write", input_summary: "(input not logged)", result_status: "blocked", is_error: 0, is_blocked: 1, block_reason: "rejected (user_reject)", error_message: null,
      output_summary: null, start_time: at(21), end_time: at(21), duration_ms: 0, task_id: `${S}-p2`, agent: `${S}/main`,
    },
  ]);
  assert.deepEqual(r.llm, [{
    id: `${S}/${S}-req_1`, model: "claude-sonnet-4-5", provider: "anthropic", input_tokens: 120, output_tokens: 450, cache_read_tokens: 30000, cache_write_tokens: 2000,
    cost_usd: 0.0421, start_time: at(3.8), end_time: at(9), duration_ms: 5200, task_id: `${S}-p1`, instance_id: `${S}/main`, response_id: `${S}-req_1`,
  }]);
  assert.deepEqual(r.entries.map((e) => [e.sequence, e.entry_type, e.summary]), [
    [1, "task_start", "fix the failing test"],
    [2, "decision", "Bash: accept (config)"],
    [3, "tool_use", "Bash: npm test"],
    [4, "tool_use", "Read: (input not logged)"],
    [5, "error", "API error 529: Overloaded"],
    [6, "task_start", "(prompt not logged; 42 characters)"],
    [7, "decision", "Write: reject (user_reject)"],
    [8, "tool_use", "Write: (input not logged)"],
  ]);
  assert.deepEqual(r.agents, [{ id: `${S}/main`, status: "working", agent_type: "main" }]);

  // JSON and protobuf carry the same records: the same rows, under the other session's ids.
  const j = rowsOf(db, "sess-json");
  const same = (x: unknown) => JSON.parse(JSON.stringify(x).replaceAll("sess-json", "sess-proto"));
  assert.deepEqual(same(j), r);

  // The exporter's retry of the same batch: nothing new, nothing changed.
  const before = all(db, `SELECT (SELECT COUNT(*) FROM transcript_entries) e, (SELECT COUNT(*) FROM tool_uses) t, (SELECT COUNT(*) FROM llm_calls) l, (SELECT COUNT(*) FROM tasks) k, (SELECT COUNT(*) FROM agent_heartbeats) h`);
  await emitLogs(new ProtoLogExporter({ url: `${served.otlp}/v1/logs` }), claudeSession("sess-proto"));
  assert.deepEqual(all(db, `SELECT (SELECT COUNT(*) FROM transcript_entries) e, (SELECT COUNT(*) FROM tool_uses) t, (SELECT COUNT(*) FROM llm_calls) l, (SELECT COUNT(*) FROM tasks) k, (SELECT COUNT(*) FROM agent_heartbeats) h`), before);
  assert.deepEqual(rowsOf(db, S), r);
  assert.match(served.stderr(), /receiving Claude Code run sess-proto over OTLP/);
  assert.equal(await served.stop(), 0);
});

test("obs tail shows a Claude Code session's tool calls as the exporter sends them", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const session = claudeSession("sess-live");
  await emitLogs(new ProtoLogExporter({ url: `${served.otlp}/v1/logs` }), session.slice(0, 1));
  const tail = spawn(process.execPath, [BIN, "tail", "sess-live", "--json", "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => tail.kill());
  const lines: Record<string, unknown>[] = [];
  let buf = "";
  tail.stdout!.on("data", (d) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  const waitFor = async (what: string, ok: () => boolean) => {
    for (const end = Date.now() + 10_000; !ok(); ) {
      if (Date.now() > end) assert.fail(`tail never showed ${what}: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor("the prompt", () => lines.some((l) => l.type === "transcript:entry"));
  await emitLogs(new ProtoLogExporter({ url: `${served.otlp}/v1/logs` }), session.slice(1, 5));
  await waitFor("the failed Read", () => lines.some((l) => l.type === "tool:end" && l.toolUseId === "sess-live-toolu_2"));
  const end = lines.find((l) => l.type === "tool:end" && l.toolUseId === "sess-live-toolu_2")!;
  assert.equal(end.resultStatus, "error");
  assert.equal(end.isError, true);
  assert.ok(lines.some((l) => l.type === "tool:start" && l.toolUseId === "sess-live-toolu_1" && l.tool === "Bash" && l.inputSummary === "npm test"));
});

function withParent(span: Span) {
  return trace.setSpan(context.active(), span);
}

test("GenAI spans and Claude Code's beta spans through the SDK: an agent's task, model calls by the conventions' token rule, tool calls under their parents", async (t) => {
  const db = tmpDb();
  const served = await startServe(db);
  t.after(() => served.stop());
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "research-agent" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: new ProtoTraceExporter({ url: `${served.otlp}/v1/traces` }) })],
  });
  const tracer = provider.getTracer("agents");
  const conv = { "gen_ai.conversation.id": "conv-9" };
  const agent = tracer.startSpan("invoke_agent researcher", { startTime: T0, attributes: { ...conv, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher", "gen_ai.agent.id": "agent-r1", "gen_ai.provider.name": "anthropic" } });
  // The conventions count cache reads and writes inside gen_ai.usage.input_tokens: 1100 = 50 uncached + 1000 read + 50 written.
  tracer.startSpan("chat claude-sonnet-4-5", {
    startTime: T0 + 100, attributes: {
      ...conv, "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.response.id": "msg_01",
      "gen_ai.usage.input_tokens": 1100, "gen_ai.usage.cache_read.input_tokens": 1000, "gen_ai.usage.cache_creation.input_tokens": 50, "gen_ai.usage.output_tokens": 20,
    },
  }, withParent(agent)).end(T0 + 2100);
  tracer.startSpan("execute_tool grep", { startTime: T0 + 2200, attributes: { ...conv, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "grep", "gen_ai.tool.call.id": "call_1", "gen_ai.tool.call.arguments": '{"pattern":"TODO"}' } }, withParent(agent)).end(T0 + 2300);
  const failing = tracer.startSpan("execute_tool fetch", { startTime: T0 + 2400, attributes: { ...conv, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "fetch", "gen_ai.tool.call.id": "call_2", "error.type": "timeout" } }, withParent(agent));
  failing.setStatus({ code: SpanStatusCode.ERROR, message: "timed out after 30 s" });
  failing.end(T0 + 32_400);
  agent.end(T0 + 33_000);

  // Claude Code's beta traces: a turn, its model call, a Task call and the subagent's Read nested under it.
  const cc = { "session.id": "sess-trace" };
  const turn = tracer.startSpan("claude_code.interaction", { startTime: T0, attributes: { ...cc, user_prompt: "<REDACTED>", user_prompt_length: 7 } });
  tracer.startSpan("claude_code.llm_request", { startTime: T0 + 10, attributes: { ...cc, model: "claude-sonnet-4-5", input_tokens: 3, output_tokens: 90, cache_read_tokens: 8000, cache_creation_tokens: 400, request_id: "req_t1", success: true } }, withParent(turn)).end(T0 + 1010);
  const task = tracer.startSpan("claude_code.tool", { startTime: T0 + 1100, attributes: { ...cc, tool_name: "Task", tool_use_id: "toolu_T" } }, withParent(turn));
  tracer.startSpan("claude_code.tool", { startTime: T0 + 1200, attributes: { ...cc, tool_name: "Read", tool_use_id: "toolu_R", agent_id: "a1" } }, withParent(task)).end(T0 + 1250);
  tracer.startSpan("claude_code.tool.execution", { startTime: T0 + 1200, attributes: { ...cc } }, withParent(task)).end(T0 + 1250);
  task.end(T0 + 5000);
  turn.end(T0 + 6000);
  await provider.forceFlush();
  await provider.shutdown();

  assert.deepEqual(all(db, `SELECT id, title, status, started_at, completed_at FROM tasks WHERE execution_id = 'conv-9'`), [
    { id: "conv-9/agent-span-" + (one(db, `SELECT substr(id, 19) AS s FROM tasks WHERE execution_id = 'conv-9'`)!.s as string), title: "researcher", status: "completed", started_at: at(0), completed_at: at(33) },
  ]);
  const taskId = one(db, `SELECT id FROM tasks WHERE execution_id = 'conv-9'`)!.id;
  assert.deepEqual(all(db, `SELECT id, tool, input_summary, result_status, error_message, duration_ms, task_id, (SELECT instance_id FROM transcript_entries te WHERE te.id = t.transcript_entry_id) AS agent FROM tool_uses t WHERE execution_id = 'conv-9' ORDER BY start_time`), [
    { id: "call_1", tool: "grep", input_summary: "TODO", result_status: "done", error_message: null, duration_ms: 100, task_id: taskId, agent: "agent-r1" },
    { id: "call_2", tool: "fetch", input_summary: "(input not logged)", result_status: "error", error_message: "timed out after 30 s", duration_ms: 30_000, task_id: taskId, agent: "agent-r1" },
  ]);
  // Priced by the table (claude-sonnet-4-5: $3 input, $15 output, $0.30 cache reads, $3.75 cache writes per million):
  // 50 × 3 + 20 × 15 + 1000 × 0.3 + 50 × 3.75 = 937.5 millionths of a dollar.
  assert.deepEqual(all(db, `SELECT id, model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, round(cost_usd, 10) AS cost_usd, duration_ms, task_id, response_id FROM llm_calls WHERE execution_id = 'conv-9'`), [
    { id: "conv-9/msg_01", model: "claude-sonnet-4-5", provider: "anthropic", input_tokens: 50, output_tokens: 20, cache_read_tokens: 1000, cache_write_tokens: 50, cost_usd: 0.0009375, duration_ms: 2000, task_id: taskId, response_id: "msg_01" },
  ]);

  assert.deepEqual(all(db, `SELECT id, title, status FROM tasks WHERE execution_id = 'sess-trace'`), [{ id: `sess-trace/interaction-${(one(db, `SELECT substr(id, 24) AS s FROM tasks WHERE execution_id = 'sess-trace'`)!.s as string)}`, title: "(prompt not logged; 7 characters)", status: "completed" }]);
  assert.deepEqual(all(db, `SELECT id, tool, parent_tool_use_id, duration_ms, result_status, (SELECT instance_id FROM transcript_entries te WHERE te.id = t.transcript_entry_id) AS agent FROM tool_uses t WHERE execution_id = 'sess-trace' ORDER BY start_time`), [
    { id: "toolu_T", tool: "Task", parent_tool_use_id: null, duration_ms: 3900, result_status: "done", agent: "sess-trace/main" },
    { id: "toolu_R", tool: "Read", parent_tool_use_id: "toolu_T", duration_ms: 50, result_status: "done", agent: "sess-trace/agent-a1" },
  ]);
  assert.deepEqual(all(db, `SELECT id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, duration_ms FROM llm_calls WHERE execution_id = 'sess-trace'`), [
    { id: "sess-trace/req_t1", input_tokens: 3, output_tokens: 90, cache_read_tokens: 8000, cache_write_tokens: 400, duration_ms: 1000 },
  ]);
});
