/** `obs show ID`: one record whole — every field, its payloads pretty-printed and never cut, what it links to — for any id obs prints. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnCli } from "./helpers.js";
import { dbWith, line } from "./query-helpers.js";

const A = (s: number, kind: string, f: Record<string, unknown> = {}) => line("exec-a", s, kind, f);
const B = (s: number, kind: string, f: Record<string, unknown> = {}) => line("exec-b", s, kind, f);
const agent = { instance_id: "ag-1", task_id: "t-2", wave_id: "w-1" };
/** A long output: 40 lines of a test run, with a number at the end of each line. */
const OUTPUT = Array.from({ length: 40 }, (_, i) => `  ✓ case ${i + 1} of the registration suite passes in ${100 + i} ms`).join("\n");

const fixture = [
  A(0, "execution:status", { status: "started", task_list_id: "tl-x" }),
  A(0, "task:status", { task_id: "t-1", status: "completed", title: "Create user model", display_id: "T-1" }),
  A(0, "task:status", { task_id: "t-2", status: "running", title: "Create registration endpoint", display_id: "T-2", depends_on: ["t-1"] }),
  A(1, "wave:status", { wave_id: "w-1", wave_number: 1, status: "running", task_ids: ["t-1", "t-2"] }),
  A(1, "agent:heartbeat", { ...agent, status: "working", current_task_id: "t-2" }),
  A(2, "skill:start", { ...agent, skill_trace_id: "sk-1", skill_name: "validation", skill_file: "skills/validation.md", line_number: 7, section_title: "## Run the tests" }),
  A(3, "tool:start", { ...agent, tool_use_id: "tu-1", tool: "Bash", input: { command: "npx vitest run tests/routes/register.test.ts", env: { CI: "1" }, timeout_ms: 120000 }, within_skill: "sk-1" }),
  A(9, "tool:end", { tool_use_id: "tu-1", is_error: true, output: OUTPUT, error_message: "1 test failed" }),
  A(10, "skill:end", { skill_trace_id: "sk-1", status: "failed", error: "tests failed" }),
  A(11, "assertion:chain_start", { ...agent, chain_id: "ch-1", description: "Validate CREATE register.ts" }),
  A(12, "assertion:result", { ...agent, assertion_id: "as-1", chain_id: "ch-1", category: "tests_pass", description: "tests pass", result: "fail", evidence: { command: "npx vitest run", exit_code: 1, stderr: "expected 201, got 500" } }),
  A(13, "assertion:chain_end", { chain_id: "ch-1" }),
  A(14, "transcript:entry", { ...agent, entry_id: "en-1", entry_type: "decision", category: "planning", summary: "Return 201 with a Location header", details: { options: ["200", "201"], chosen: "201", reason: "a resource was created" } }),
  A(15, "messagebus:event", { ...agent, event_id: "ev-1", source: "ag-1", event_type: "test.failed", severity: "error", human_summary: "registration tests failed", correlation_id: "corr-1", payload: { failed: 1, passed: 39 } }),
  A(16, "llm:call", { ...agent, id: "llm-1", model: "claude-sonnet-4-5", input_tokens: 1200, output_tokens: 340, cost_usd: 0.0087 }),
  // The same producer ids in a second run: stored as <id>@exec-b.
  B(100, "execution:status", { status: "started" }),
  B(101, "tool:start", { tool_use_id: "tu-1", tool: "Read", input: { file_path: "b.ts" } }),
];

test("obs show: a tool call whole — every field, its input and output pretty-printed and never cut, its links, the same id in another run", async () => {
  const db = await dbWith(fixture);
  for (const columns of ["60", "100"]) {
    const r = spawnCli(["show", "tu-1", "--db", db], { env: { COLUMNS: columns } });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    for (const l of out.split("\n")) assert.ok([...l].length <= Number(columns), `wider than ${columns}: ${l}`);
    assert.match(out, /^Tool call tu-1$/m);
    assert.match(out, /^ {2}tool +Bash$/m);
    assert.match(out, /^ {2}result_status +error$/m);
    assert.match(out, /^ {2}error_message +1 test failed$/m);
    assert.match(out, /^ {2}duration_ms +6\.0s \(6,000 ms\)$/m);
    // Wrapped lines go on under their own indentation: joined, nothing is missing.
    const joined = out.replace(/\n {4,}(?=\S)/g, " ");
    if (columns === "100") assert.match(out, /^input\n {2}\{\n {4}"command": "npx vitest run tests\/routes\/register\.test\.ts",\n {4}"env": \{\n {6}"CI": "1"\n {4}\},\n {4}"timeout_ms": 120000\n {2}\}$/m);
    else assert.ok(joined.includes(`"command": "npx vitest run tests/routes/register.test.ts",`), out);
    // The output as the text it is, each of its 40 lines whole (at 60 columns wrapped, not cut).
    for (let i = 1; i <= 40; i++) assert.ok(joined.includes(`case ${i} of the registration suite passes in ${99 + i} ms`), `line ${i} of the output at ${columns}`);
    assert.match(out, /^Links$/m);
    assert.match(out, /^ {2}task +t-2 +Create registration endpoint$/m);
    assert.match(out, /^ {2}agent +ag-1$/m);
    assert.match(out, /^ {2}skill +sk-1 +validation$/m);
    assert.match(out, /^The same id elsewhere\n {2}tool call +tu-1@exec-b$/m);
  }
  const j = spawnCli(["show", "tu-1", "--json", "--db", db]);
  const v = JSON.parse(j.stdout);
  assert.deepEqual([v.kind, v.id, v.table], ["tool_call", "tu-1", "tool_uses"]);
  assert.deepEqual(v.record.input, { command: "npx vitest run tests/routes/register.test.ts", env: { CI: "1" }, timeout_ms: 120000 });
  assert.equal(v.record.output, OUTPUT);
  assert.deepEqual(v.links.map((l: { rel: string; id: string }) => `${l.rel} ${l.id}`).sort(), ["agent ag-1", "entry " + v.record.transcript_entry_id, "execution exec-a", "skill sk-1", "task t-2"].sort());
  assert.deepEqual(v.also, [{ kind: "tool_call", id: "tu-1@exec-b" }]);
  const other = JSON.parse(spawnCli(["show", "tu-1@exec-b", "--json", "--db", db]).stdout);
  assert.deepEqual([other.record.execution_id, other.record.tool, other.record.input], ["exec-b", "Read", { file_path: "b.ts" }]);
});

test("obs show: every other kind obs prints an id of, with its payload and links", async () => {
  const db = await dbWith(fixture);
  const show = (id: string) => {
    const r = spawnCli(["show", id, "--json", "--db", db]);
    assert.equal(r.code, 0, `${id}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { kind: string; record: Record<string, unknown>; links: { rel: string; id: string; label: string | null }[] };
  };
  const rels = (v: ReturnType<typeof show>) => v.links.map((l) => `${l.rel} ${l.id}`).sort();

  const entry = show("en-1");
  assert.equal(entry.kind, "entry");
  assert.deepEqual(entry.record.details, { options: ["200", "201"], chosen: "201", reason: "a resource was created" });
  assert.deepEqual(rels(entry), ["agent ag-1", "execution exec-a", "task t-2"]);

  const as = show("as-1");
  assert.equal(as.kind, "assertion");
  assert.deepEqual(as.record.evidence, { command: "npx vitest run", exit_code: 1, stderr: "expected 201, got 500" });
  assert.deepEqual(rels(as).filter((l) => !l.startsWith("entry ")), ["agent ag-1", "chain ch-1", "execution exec-a", "task t-2"]);

  const chain = show("ch-1");
  assert.deepEqual([chain.kind, chain.record.overall_result, chain.record.fail_count], ["chain", "fail", 1]);
  assert.deepEqual(rels(chain), ["execution exec-a", "first failure as-1", "result as-1", "task t-2"]);

  const skill = show("sk-1");
  assert.deepEqual([skill.kind, skill.record.status, skill.record.error_message], ["skill", "failed", "tests failed"]);
  assert.deepEqual(rels(skill), ["agent ag-1", "execution exec-a", "task t-2", "tool call tu-1"]);

  const model = show("llm-1");
  assert.deepEqual([model.kind, model.record.input_tokens, model.record.output_tokens, model.record.cost_usd], ["model_call", 1200, 340, 0.0087]);

  const task = show("t-2");
  assert.deepEqual([task.kind, task.record.title, task.record.status], ["task", "Create registration endpoint", "running"]);
  assert.deepEqual(rels(task), ["agent ag-1", "chain ch-1", "depends on t-1", "execution exec-a", "wave w-1"]);
  assert.deepEqual(rels(show("t-1")).filter((l) => l.startsWith("needed by")), ["needed by t-2"]);

  const ag = show("ag-1");
  assert.deepEqual([ag.kind, ag.record.status], ["agent", "working"]);
  assert.deepEqual(rels(ag), ["execution exec-a", "task t-2", "wave w-1"]);

  const bus = show(spawnCli(["search", "registration tests failed", "--type", "bus", "--json", "--db", db], {}).stdout.match(/"id": "([^"]+)"/)![1]!);
  assert.equal(bus.kind, "bus_event");
  assert.deepEqual(bus.record.payload, { failed: 1, passed: 39 });
  assert.ok(rels(bus).includes("correlation corr-1"));

  const wave = show("w-1");
  assert.deepEqual(rels(wave), ["execution exec-a", "task t-1", "task t-2"]);
  const run = show("exec-a");
  assert.equal(run.kind, "execution");
  assert.ok(rels(run).includes("agent ag-1") && rels(run).includes("wave w-1") && rels(run).includes("task t-1"));
});

test("obs show: a unique prefix will do; an ambiguous one lists the ids; an unknown one gets the closest; --kind chooses", async () => {
  const db = await dbWith(fixture);
  const pre = spawnCli(["show", "llm-", "--db", db]);
  assert.equal(pre.code, 0, pre.stderr);
  assert.match(pre.stdout, /^Model call llm-1$/m);
  const amb = spawnCli(["show", "t-", "--db", db]);
  assert.equal(amb.code, 2);
  assert.match(amb.stderr, /^obs: 't-' is ambiguous: it starts 2 ids\n {2}did you mean t-1, t-2\?$/m);
  const none = spawnCli(["show", "sk-9", "--db", db]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, "");
  assert.match(none.stderr, /^obs: no record has the id 'sk-9'\n {2}closest: sk-1$/m);
  const kind = spawnCli(["show", "t-2", "--kind", "agent", "--db", db]);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /^obs: 't-2' is no agent\n {2}it is a task: obs show t-2$/m);
  const bad = spawnCli(["show", "t-2", "--kind", "nonsense", "--db", db]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--kind.*nonsense.*Allowed choices are tool_call, entry/s);
});
