import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { all, spawnCli, tmpDir } from "./helpers.js";

/** Every table's rows of one execution, in a stable order, without where they were ingested from. */
function snapshot(db: string, exec: string): Record<string, unknown[]> {
  const q: Record<string, string> = {
    task_list_execution_runs: `SELECT * FROM task_list_execution_runs WHERE id = @e`,
    tasks: `SELECT * FROM tasks WHERE execution_id = @e ORDER BY id`,
    task_dependencies: `SELECT * FROM task_dependencies WHERE task_id IN (SELECT id FROM tasks WHERE execution_id = @e) ORDER BY 1, 2`,
    parallel_execution_waves: `SELECT * FROM parallel_execution_waves WHERE execution_run_id = @e ORDER BY id`,
    wave_task_assignments: `SELECT * FROM wave_task_assignments WHERE wave_id IN (SELECT id FROM parallel_execution_waves WHERE execution_run_id = @e) ORDER BY 1, 2`,
    wave_statistics: `SELECT * FROM wave_statistics WHERE execution_id = @e ORDER BY wave_id`,
    transcript_entries: `SELECT * FROM transcript_entries WHERE execution_id = @e ORDER BY id`,
    tool_uses: `SELECT * FROM tool_uses WHERE execution_id = @e ORDER BY id`,
    skill_traces: `SELECT * FROM skill_traces WHERE execution_id = @e ORDER BY id`,
    assertion_chains: `SELECT * FROM assertion_chains WHERE execution_id = @e ORDER BY id`,
    assertion_results: `SELECT * FROM assertion_results WHERE execution_id = @e ORDER BY id`,
    events: `SELECT * FROM events WHERE execution_id = @e ORDER BY id`,
    message_bus_log: `SELECT * FROM message_bus_log WHERE execution_id = @e ORDER BY id`,
    build_agent_instances: `SELECT * FROM build_agent_instances WHERE execution_id = @e ORDER BY id`,
    agent_heartbeats: `SELECT * FROM agent_heartbeats WHERE execution_id = @e ORDER BY id`,
    llm_calls: `SELECT * FROM llm_calls WHERE execution_id = @e ORDER BY id`,
  };
  return Object.fromEntries(
    Object.entries(q).map(([t, sql]) => [t, all(db, sql, { e: exec }).map(({ source, created_at, ...r }) => (void source, void created_at, r))]),
  );
}

test("obs export --jsonl then ingest into an empty database gives the same rows", () => {
  const dir = tmpDir();
  const demo = path.join(dir, "demo.db");
  assert.equal(spawnCli(["demo", "--db", demo]).code, 0);
  for (const exec of ["exec-103", "exec-101"]) {
    const out = path.join(dir, `${exec}.jsonl`);
    const r = spawnCli(["export", exec, "--jsonl", "--output", out, "--db", demo]);
    assert.equal(r.code, 0, r.stderr);
    const copy = path.join(dir, `${exec}.db`);
    const ingest = spawnCli(["ingest", out, "--db", copy]);
    assert.equal(ingest.code, 0, ingest.stderr);
    const before = snapshot(demo, exec);
    const after = snapshot(copy, exec);
    for (const table of Object.keys(before)) {
      assert.ok(before[table]!.length > 0, `${exec}: ${table} has rows to compare`);
      assert.deepEqual(after[table], before[table], `${exec}: ${table} differs after the round trip`);
    }
    // And the questions asked of it have the same answers.
    assert.equal(spawnCli(["validate", exec, "--json", "--db", copy]).stdout, spawnCli(["validate", exec, "--json", "--db", demo]).stdout);
  }
  const none = spawnCli(["export", "exec-103", "--db", demo]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /choose the export format/);
});

test("obs export --otlp writes OTLP JSON: resourceSpans → scopeSpans → spans, hex ids, parent links, unix nanos, GenAI attributes", () => {
  const dir = tmpDir();
  const demo = path.join(dir, "demo.db");
  assert.equal(spawnCli(["demo", "--db", demo]).code, 0);
  const r = spawnCli(["export", "exec-103", "--otlp", "--db", demo]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split("\n").length, 1, "one ExportTraceServiceRequest per line");
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.resourceSpans.length, 1);
  const rs = doc.resourceSpans[0];
  assert.ok(rs.resource.attributes.some((a: { key: string; value: { stringValue?: string } }) => a.key === "service.name" && a.value.stringValue === "obs"));
  const spans = rs.scopeSpans[0].spans as { traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes: { key: string; value: Record<string, unknown> }[]; status: { code: number } }[];
  const attr = (s: (typeof spans)[number], k: string) => s.attributes.find((a) => a.key === k)?.value;
  const ids = new Set(spans.map((s) => s.spanId));
  assert.equal(ids.size, spans.length, "span ids are unique");
  for (const s of spans) {
    assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.match(s.startTimeUnixNano, /^\d{19}$/);
    assert.ok(BigInt(s.startTimeUnixNano) <= BigInt(s.endTimeUnixNano), `${s.name} ends before it starts`);
    if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), `${s.name}: its parent is in the trace`);
  }
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);
  const roots = spans.filter((s) => !s.parentSpanId);
  assert.deepEqual(roots.map((s) => [s.name, attr(s, "gen_ai.operation.name")]), [["invoke_workflow tl-auth-service", { stringValue: "invoke_workflow" }]]);
  // 2026-11-20T09:34:00Z in unix nanoseconds.
  assert.equal(roots[0]!.startTimeUnixNano, String(BigInt(Date.parse("2026-11-20T09:34:00.000Z")) * 1_000_000n));
  const agents = spans.filter((s) => attr(s, "gen_ai.operation.name")?.stringValue === "invoke_agent");
  assert.equal(agents.length, 20);
  assert.ok(agents.every((s) => s.parentSpanId === roots[0]!.spanId));
  const tools = spans.filter((s) => attr(s, "gen_ai.operation.name")?.stringValue === "execute_tool");
  assert.equal(tools.length, JSON.parse(spawnCli(["summary", "exec-103", "--json", "--db", demo]).stdout).A001[0].tool_calls);
  const bash = tools.find((s) => attr(s, "gen_ai.tool.call.id")?.stringValue === "tu-103-13-010")!;
  assert.deepEqual(attr(bash, "gen_ai.tool.name"), { stringValue: "Bash" });
  assert.deepEqual(attr(bash, "error.type"), { stringValue: "tool_error" });
  assert.equal(bash.status.code, 2);
  assert.ok(agents.some((a) => a.spanId === bash.parentSpanId), "a tool call sits under its task's agent span");
  const blocked = tools.find((s) => attr(s, "error.type")?.stringValue === "blocked");
  assert.ok(blocked, "the blocked command is an error of type blocked");
  const chats = spans.filter((s) => attr(s, "gen_ai.operation.name")?.stringValue === "chat");
  assert.ok(chats.length > 50);
  assert.ok(chats.every((s) => attr(s, "gen_ai.usage.input_tokens")?.intValue && attr(s, "gen_ai.usage.output_tokens")?.intValue));
  // The same execution exports the same trace.
  assert.equal(spawnCli(["export", "exec-103", "--otlp", "--db", demo]).stdout, r.stdout);
});
