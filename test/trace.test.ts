/**
 * A trace store and an EventLog written exactly as their producers write them (test/seed-records.ts)
 * read end to end through the CLI: list, summary, timeline, tree, errors with their messages,
 * search and filters; then the unhappy paths of the trace views: loops and missing parents in
 * the record, a chain 10,000 deep, a 60-column terminal, NO_COLOR, bad flags. Expected values
 * are worked out from the records as written, not from obs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { Readable } from "node:stream";
import { run } from "../src/cli.js";
import { colorWanted, type IO } from "../src/io.js";
import { all, cli, spawnCli, tmpDir } from "./helpers.js";
import { LOG, logEvents, seedEventLog, seedTraceStore, STORE, storeRecord, T0, writeTraceStore, type TraceEntry } from "./seed-records.js";

const dir = tmpDir();
const db = path.join(dir, "obs.db");
const storeFile = seedTraceStore(path.join(dir, "agent_traces.db"));
const logFile = seedEventLog(path.join(dir, "workspaces", LOG.session, "events.jsonl"));
const ingested = await cli(["ingest", storeFile, logFile, "--db", db]);
assert.equal(ingested.code, 0, ingested.stderr);

const obs = async (...args: string[]) => {
  const r = await cli([...args, "--db", db]);
  assert.equal(r.stderr, "", `${args.join(" ")}: ${r.stderr}`);
  return r;
};
const json = async (...args: string[]) => JSON.parse((await obs(...args, "--json")).stdout);

const { sessions, traces } = storeRecord();
const failed = traces.filter((t) => t.session_id === STORE.failed).sort((a, b) => a.at - b.at);
const isTool = (t: TraceEntry) => /tool/.test(t.type) && typeof t.data?.tool === "string";
/** A trace's id as obs keeps it: a tool trace is a tool call of that id. */
const idOf = (t: TraceEntry) => t.id;
/** The trace id a step or node stands for. */
const traceOf = (s: { tool_use_id: string | null; entry_id: string | null }) => s.tool_use_id ?? s.entry_id;
const errorOf = (t: TraceEntry) => String(t.data?.error);

interface Node { kind: string; id: string | null; entry_id: string | null; tool_use_id: string | null; status: string | null; duration_ms: number | null; notes: string[]; context?: boolean; children: Node[] }
/** A tree as trace id → the ids of its children, for comparing with the parent links as written. */
function childrenOf(tree: Node): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (n: Node, key: string) => {
    // A step by the trace it stands for, a task by its id.
    const keyOf = (c: Node) => traceOf(c) ?? c.id!;
    out.set(key, n.children.map(keyOf));
    for (const ch of n.children) walk(ch, keyOf(ch));
  };
  walk(tree, "(root)");
  return out;
}

test("trace store: listed and summed as its sessions' own work, tokens and cost as written", async () => {
  const ls = (await json("ls")) as { execution_id: string; status: string; input_tokens: number; output_tokens: number; cost_usd: number; errors: number }[];
  const row = (id: string) => ls.find((r) => r.execution_id === id)!;
  // The failed session: one model call of 1,200 in / 300 out at $3 / $15 per million (no cost written) = $0.0081.
  assert.deepEqual([row(STORE.failed).status, row(STORE.failed).input_tokens, row(STORE.failed).output_tokens, row(STORE.failed).cost_usd], ["failed", 1200, 300, 0.0081]);
  assert.deepEqual([row(STORE.clean).status, row(STORE.clean).input_tokens, row(STORE.clean).cost_usd], ["completed", 500, 0.003]);
  // Its errors: the error trace, and the tool trace whose data carries an error.
  const errorTraces = failed.filter((t) => t.type === "error" || (isTool(t) && t.data?.error));
  assert.equal(row(STORE.failed).errors, errorTraces.length);
  assert.equal(row(STORE.clean).errors, 0);
  const summary = await json("summary", STORE.failed);
  assert.equal(summary.A001[0].tool_calls, failed.filter(isTool).length);
  assert.equal(summary.A001[0].errors, errorTraces.length);
});

test("trace store: the timeline is every trace in time order with its type, duration and status; errors keep their own text", async () => {
  const t = await json("trace", "--exec", STORE.failed);
  assert.equal(t.view, "timeline", "a session without agents is one timeline");
  assert.equal(t.message, sessions[0]!.task);
  assert.deepEqual(t.steps.map(traceOf), failed.map(idOf));
  assert.deepEqual(t.steps.map((s: { duration_ms: number | null }) => s.duration_ms), failed.map((x) => (x.duration_ms === undefined ? null : Math.round(x.duration_ms!))));
  assert.deepEqual(t.steps.map((s: { status: string | null }) => s.status), failed.map((x) => (x.type === "error" ? "error" : isTool(x) ? (x.data?.error ? "error" : "done") : null)));
  const error = failed.find((x) => x.type === "error")!;
  assert.equal(t.steps.find((s: { entry_id: string }) => s.entry_id === error.id).summary, errorOf(error));

  const text = (await obs("trace", "--exec", STORE.failed)).stdout.split("\n");
  assert.match(text[0]!, new RegExp(`^Run ${STORE.failed}  failed  2026-01-16 11:00:00 · 9\\.5s  9 steps  Fix the failing import in a\\.py$`));
  assert.match(text[1]!, /TIME \(UTC\)\s+\+OFFSET\s+TYPE\s+SUMMARY\s+DURATION\s+STATUS/);
  assert.match(text.find((l) => l.includes("FileNotFoundError"))!, /^ 11:00:04\.500\s+\+4\.5s\s+error\s+FileNotFoundError: b\.py\s+error$/);
  assert.match(text.find((l) => l.includes("write_file"))!, /11:00:05\.000\s+\+5\.0s\s+tool_use\s+write_file: b\.py\s+█+\S*\s+1\.5s\s+error$/);
  // The same session named without --exec: it is no task, so the run is traced.
  assert.equal((await obs("trace", STORE.failed.slice(0, 8))).stdout, (await obs("trace", "--exec", STORE.failed)).stdout);

  const errors = await json("errors", STORE.failed);
  assert.deepEqual(errors.T001.map((e: { details: string }) => e.details), [errorOf(error), errorOf(failed.find((x) => x.data?.tool === "write_file")!)]);
  const human = (await cli(["errors", STORE.failed, "--db", db])).stdout;
  assert.match(human, /error_entry\s+error\s+—\s+FileNotFoundError: b\.py/);
});

test("trace store: the tree is the parent links as written, with durations and statuses on the nodes", async () => {
  const t = await json("trace", "--exec", STORE.failed, "--tree");
  assert.equal(t.view, "tree");
  assert.equal(t.tree.id, STORE.failed);
  const expected = new Map<string, string[]>([["(root)", failed.filter((x) => !x.parent_trace_id).map(idOf)]]);
  for (const x of failed) expected.set(x.id, failed.filter((y) => y.parent_trace_id === x.id).map(idOf));
  assert.deepEqual(childrenOf(t.tree), expected);
  const text = (await obs("trace", "--exec", STORE.failed, "--tree")).stdout;
  assert.equal(text, [
    `${STORE.failed}  Fix the failing import in a.py  failed  9.5s`,
    "└─ phase_start: trace_started",
    "   ├─ decision: model_selected",
    "   ├─ phase_start: step_started",
    "   │  ├─ read_file: a.py  done  121ms",
    "   │  ├─ discovery: llm_call  2.3s",
    "   │  ├─ error: FileNotFoundError: b.py  error",
    "   │  ├─ write_file: b.py  error  1.5s",
    "   │  └─ phase_end: step_completed  6.0s",
    "   └─ phase_end: trace_ended",
    "",
  ].join("\n"));
});

test("trace store: search finds an error by its text; --type, --errors and --min-duration narrow the timeline and the tree", async () => {
  const hits = await json("search", "FileNotFoundError");
  assert.deepEqual(hits.map((h: { execution_id: string; id: string }) => [h.execution_id, h.id]), [[STORE.failed, STORE.ids.error]]);
  const steps = async (...flags: string[]) => ((await json("trace", "--exec", STORE.failed, ...flags)).steps as { tool_use_id: string | null; entry_id: string }[]).map(traceOf);
  assert.deepEqual(await steps("--errors"), failed.filter((x) => x.type === "error" || x.data?.error).map(idOf));
  assert.deepEqual(await steps("--min-duration", "1s"), failed.filter((x) => (x.duration_ms ?? 0) >= 1000).map(idOf));
  assert.deepEqual(await steps("--type", "model_selected"), failed.filter((x) => x.type === "model_selected").map(idOf), "a trace type of the store");
  assert.deepEqual(await steps("--type", "tool_use,error"), failed.filter((x) => isTool(x) || x.type === "error").map(idOf), "obs's entry types, a list");
  assert.deepEqual(await steps("--type", "read_file", "--type", "llm_call"), failed.filter((x) => x.data?.tool === "read_file" || x.type === "llm_call").map(idOf), "a tool name; repeated");
  assert.deepEqual(await steps("--errors", "--min-duration", "1s"), failed.filter((x) => x.data?.error && (x.duration_ms ?? 0) >= 1000).map(idOf), "every filter at once");
  const tree = await json("trace", "--exec", STORE.failed, "--tree", "--errors");
  assert.equal(tree.matched, 2);
  const start = tree.tree.children[0];
  assert.deepEqual([traceOf(start), start.context, traceOf(start.children[0]), start.children[0].context], [STORE.ids.start, true, STORE.ids.step, true]);
  assert.deepEqual(start.children[0].children.map((n: Node) => [traceOf(n), n.context ?? false]), [[STORE.ids.error, false], [STORE.ids.write, false]]);
  const text = (await obs("trace", "--exec", STORE.failed, "--min-duration", "2s")).stdout;
  assert.match(text, /^2 of 9 steps: ≥ 2\.0s$/m);
  assert.doesNotMatch(text, /write_file/);
});

const log = logEvents();
/** The entries an EventLog event makes: a phase transition ends one phase and starts the next. */
const entriesOf = (e: (typeof log)[number]) => (e.event_type === "phase_transition" && e.metadata?.old_phase ? 2 : 1);

test("EventLog: listed, summed and its errors told with their metadata.error", async () => {
  const ls = (await json("ls")) as { execution_id: string; status: string; input_tokens: number; output_tokens: number; cost_usd: number; tasks_failed: number }[];
  const row = ls.find((r) => r.execution_id === LOG.session)!;
  // 150 in (the request's prompt) / 300 out on claude-sonnet-4-5 at $3 / $15 per million.
  assert.deepEqual([row.status, row.input_tokens, row.output_tokens, row.cost_usd, row.tasks_failed], ["failed", 150, 300, 0.00495, 1]);
  const errors = (await json("errors", LOG.session)).T001.map((e: { details: string }) => e.details);
  const withError = (type: string) => {
    const e = log.find((x) => x.event_type === type)!;
    const err = e.metadata?.error;
    return err ? `${e.message}: ${err}` : e.message;
  };
  assert.deepEqual(errors, [withError("verification_failed"), withError("error"), withError("task_failed"), "Add the login form", withError("session_failed")]);
  const summary = await json("summary", LOG.session);
  assert.equal(summary.A001[0].errors, errors.length);
});

test("EventLog: traced by agent, every event in exactly one place — the agent's task, or the steps of no agent", async () => {
  const t = await json("trace", "--exec", LOG.session);
  assert.equal(t.view, "agents");
  const taskSteps = log.filter((e) => e.task_id).reduce((n, e) => n + entriesOf(e), 0);
  const untasked = log.filter((e) => !e.task_id).reduce((n, e) => n + entriesOf(e), 0);
  assert.deepEqual(t.agents.map((a: { instance_id: string | null; tasks: { task_id: string; steps: unknown[] }[]; steps: unknown[] }) => [a.instance_id, a.tasks.map((x) => [x.task_id, x.steps.length]), a.steps.length]), [
    [`${LOG.session}/coder`, [[LOG.task, taskSteps]], 0],
    [null, [], untasked],
  ]);
  assert.equal(taskSteps + untasked, Number(all(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = ?`, LOG.session)[0]!.n));
  const text = (await obs("trace", "--exec", LOG.session)).stdout;
  assert.match(text, new RegExp(`^${LOG.session}/coder  ${LOG.task}  Add the login form  failed  10\\.0s$`, "m"));
  assert.match(text, /^\(no agent\)  outside any task  8 steps$/m);
  assert.match(text, /Coordinator error: RuntimeError: retry budget exhausted\s+error$/m);
});

test("EventLog: the tree holds the task's events under it, the session's around it; filters and search", async () => {
  const t = await json("trace", "--exec", LOG.session, "--tree");
  const kids = t.tree.children as Node[];
  assert.deepEqual(kids.map((n) => n.kind), ["step", "step", "step", "step", "step", "step", "task", "step", "step"]);
  const taskNode = kids[6]!;
  assert.deepEqual([taskNode.id, taskNode.status, taskNode.duration_ms, taskNode.children.length], [LOG.task, "failed", 10_000, log.filter((e) => e.task_id).length]);
  const byType = async (type: string) => ((await json("trace", "--exec", LOG.session, "--type", type)).agents as { tasks: { steps: unknown[] }[]; steps: unknown[] }[])
    .reduce((n, a) => n + a.steps.length + a.tasks.reduce((m, x) => m + x.steps.length, 0), 0);
  assert.equal(await byType("task_failed"), 1, "an EventLog event type");
  assert.equal(await byType("llm"), 2, "its category");
  const errorsTree = await json("trace", "--exec", LOG.session, "--tree", "--errors");
  // The failed task, its two error events, and the session's two.
  assert.equal(errorsTree.matched, 5);
  const none = (await obs("trace", "--exec", LOG.session, "--min-duration", "1s")).stdout;
  assert.match(none, /^0 of 16 steps: ≥ 1\.0s$/m, "no EventLog event has a duration of its own");
  const hits = await json("search", "retry budget", "--exec", LOG.session);
  assert.equal(hits.length, 1);
  assert.match(hits[0].snippet, /RuntimeError/);
});

function store(name: string, records: Omit<TraceEntry, "session_id">[]): string {
  const file = writeTraceStore(path.join(tmpDir(), `${name}.db`), [{ id: name, task: name, started: T0 }], records.map((r) => ({ ...r, session_id: name })));
  return file;
}

test("a record whose parent links loop, name themselves, or name a trace that is not there: every trace shown once, said so", async () => {
  const s = (n: number) => T0 + n * 1000;
  const file = store("loops", [
    { id: "A", type: "step_started", at: s(1), parent_trace_id: "C" },
    { id: "B", type: "step_started", at: s(2), parent_trace_id: "A" },
    { id: "C", type: "step_started", at: s(3), parent_trace_id: "B" },
    { id: "D", type: "tool_called", at: s(4), parent_trace_id: "D", duration_ms: 5, data: { tool: "self" } },
    { id: "E", type: "step_started", at: s(5), parent_trace_id: "deleted-trace" },
    { id: "F", type: "tool_called", at: s(6), parent_trace_id: "E", duration_ms: 7, data: { tool: "under_e" } },
  ]);
  const d = path.join(tmpDir(), "obs.db");
  assert.equal((await cli(["ingest", file, "--db", d])).code, 0);
  const t = JSON.parse((await cli(["trace", "--exec", "loops", "--tree", "--json", "--db", d])).stdout);
  assert.deepEqual(childrenOf(t.tree), new Map([
    ["(root)", ["A", "D", "E"]], ["A", ["B"]], ["B", ["C"]], ["C", []], ["D", []], ["E", ["F"]], ["F", []],
  ]));
  const text = (await cli(["trace", "--exec", "loops", "--tree", "--db", d])).stdout;
  assert.match(text, /├─ phase_start: step_started  \(its parent link loops back: placed as if it had none\)\n│  └─ phase_start: step_started\n│     └─ phase_start: step_started\n/);
  assert.match(text, /├─ self: \{\}  done  5ms  \(its parent link loops back: placed as if it had none\)/);
  assert.match(text, /└─ phase_start: step_started  \(parent deleted-trace is not in the record\)\n   └─ under_e: \{\}  done  7ms/);
});

test("a chain of 10,000 traces, each the child of the one before: the tree drawn and printed as JSON, the timeline one screen with the rest counted", async () => {
  const chain = Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, type: "step_started", at: T0 + i, ...(i ? { parent_trace_id: `t${i - 1}` } : {}) }));
  const d = path.join(tmpDir(), "obs.db");
  assert.equal((await cli(["ingest", store("chain", chain), "--db", d])).code, 0);
  const r = await cli(["trace", "--exec", "chain", "--tree", "--json", "--db", d]);
  assert.equal(r.code, 0, r.stderr);
  let depth = 0;
  for (let n = JSON.parse(r.stdout).tree as Node; n.children.length; n = n.children[0]!) depth++;
  assert.equal(depth, 10_000);
  const text = await cli(["trace", "--exec", "chain", "--tree", "--db", d]);
  const lines = text.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 10_001);
  for (const l of lines) assert.ok([...l].length <= 120, `wider than COLUMNS=120: ${l}`);
  const timeline = (await cli(["trace", "--exec", "chain", "--db", d])).stdout.trimEnd().split("\n");
  assert.equal(timeline.length, 1 + 1 + 50 + 1, "heading, column names, 50 steps, what is left");
  assert.equal(timeline.at(-1), "  … 9950 more steps (--limit 10000 shows them all)");
  assert.equal(JSON.parse((await cli(["trace", "--exec", "chain", "--json", "--db", d])).stdout).steps.length, 10_000, "JSON has every step");
});

test("on a 60-column terminal every trace view fits, with ids and numbers whole", () => {
  for (const args of [["--exec", STORE.failed], ["--exec", STORE.failed, "--tree"], ["--exec", LOG.session], ["--exec", LOG.session, "--tree"], ["--exec", STORE.failed, "--errors"]]) {
    const r = spawnCli(["trace", ...args, "--db", db], { env: { COLUMNS: "60" } });
    assert.equal(r.code, 0, r.stderr);
    for (const l of r.stdout.split("\n")) assert.ok([...l].length <= 60, `${args.join(" ")}: wider than 60: ${l}`);
    const exec = args[1]!;
    assert.ok(r.stdout.includes(exec), `${args.join(" ")}: the execution id whole`);
    if (exec === STORE.failed) for (const n of args.includes("--errors") ? ["1.5s"] : ["121ms", "2.3s", "1.5s", "6.0s", "9.5s"]) assert.ok(r.stdout.includes(n), `${args.join(" ")}: ${n}`);
    if (exec === LOG.session && !args.includes("--tree")) assert.ok(r.stdout.includes(`${LOG.session}/coder`), "the agent id whole");
  }
  const t = spawnCli(["trace", "--exec", STORE.failed, "--db", db], { env: { COLUMNS: "60" } }).stdout;
  // The row leaves a summary no room worth reading: it goes on its own line beneath the row, whole.
  assert.match(t, /^ 11:00:05\.000 +tool_use +1\.5s +error\n {16}write_file: b\.py$/m, "time, type, duration and status whole; the summary under them");
});

test("NO_COLOR: no colour on a terminal that would have it", async () => {
  const capture = async (env: NodeJS.ProcessEnv) => {
    let stdout = "";
    const io: IO = {
      out: (t) => void (stdout += t), err: () => {}, isTTY: true, errIsTTY: true, columns: 120, color: colorWanted(env, true), env, stdin: Readable.from([]),
    };
    assert.equal(await run(["trace", "--exec", STORE.failed, "--tree", "--db", db], io), 0);
    return stdout;
  };
  assert.match(await capture({}), /\x1b\[/, "a terminal gets colour");
  assert.doesNotMatch(await capture({ NO_COLOR: "1" }), /\x1b\[/);
  assert.doesNotMatch(spawnCli(["trace", "--exec", LOG.session, "--db", db], { env: { NO_COLOR: "1" } }).stdout, /\x1b\[/);
});

test("bad flags are named, exit 2, nothing on stdout", async () => {
  for (const [args, message] of [
    [["trace", "--exec", STORE.failed, "--min-duration", "fast"], /--min-duration must be a duration like 500ms, 90s, 5m or 1h, got 'fast'/],
    [["trace", STORE.failed, "--tools", "--errors"], /--type, --errors and --min-duration narrow a timeline or tree, not --tools/],
    [["trace", "--exec", "no-such-run"], /no execution 'no-such-run'/],
    [["trace", "no-such-thing"], /no task or execution 'no-such-thing'/],
    [["trace", "x", "--exec", STORE.failed], /trace either a task or a run/],
  ] as const) {
    const r = await cli([...args, "--db", db]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
  }
});

test("a database another producer wrote with only entries and tool calls (no tasks, skills, assertions or runs): traced, and left as it was", async () => {
  const file = path.join(tmpDir(), "foreign.db");
  const raw = new Database(file);
  raw.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, sequence INTEGER NOT NULL, execution_id TEXT NOT NULL,
            task_id TEXT, instance_id TEXT, wave_number INTEGER, entry_type TEXT NOT NULL, category TEXT, summary TEXT, details TEXT, duration_ms INTEGER)`);
  raw.exec(`CREATE TABLE tool_uses (id TEXT PRIMARY KEY, execution_id TEXT, task_id TEXT, transcript_entry_id TEXT, tool TEXT, input TEXT,
            result_status TEXT, is_error INTEGER DEFAULT 0, start_time TEXT, end_time TEXT, duration_ms INTEGER, within_skill TEXT)`);
  raw.prepare(`INSERT INTO transcript_entries VALUES ('e1', '2026-01-16 09:00:00', 1, 'py-run', 't1', 'a1', NULL, 'task_start', 'lifecycle', 'go', 'not json', NULL)`).run();
  raw.prepare(`INSERT INTO transcript_entries VALUES ('e2', '2026-01-16 09:00:05', 2, 'py-run', NULL, NULL, NULL, 'tool_use', 'tool', 'Read a.py', '{"parent_id": "e1"}', NULL)`).run();
  raw.prepare(`INSERT INTO tool_uses VALUES ('u1', 'py-run', NULL, 'e2', 'Read', '{}', 'done', 0, '2026-01-16 09:00:05', '2026-01-16 09:00:06', 1000, NULL)`).run();
  raw.close();
  const before = fs.readFileSync(file);
  const task = JSON.parse((await cli(["trace", "t1", "--json", "--db", file])).stdout);
  assert.deepEqual(task.map((s: { entry_id: string }) => s.entry_id), ["e1"]);
  const run = JSON.parse((await cli(["trace", "--exec", "py-run", "--json", "--db", file])).stdout);
  assert.deepEqual(run.agents.map((a: { instance_id: string | null; tasks: { task_id: string }[]; steps: { entry_id: string; tool_use_id: string }[] }) => [a.instance_id, a.tasks.map((t) => t.task_id), a.steps.map((s) => s.tool_use_id)]), [
    ["a1", ["t1"], []], [null, [], ["u1"]],
  ], "the tool call of no agent and no task is there");
  const tree = JSON.parse((await cli(["trace", "--exec", "py-run", "--tree", "--json", "--db", file])).stdout);
  assert.deepEqual(childrenOf(tree.tree), new Map([["(root)", ["t1"]], ["t1", ["e1"]], ["e1", ["u1"]], ["u1", []]]), "under the entry its details name");
  assert.deepEqual(fs.readFileSync(file), before, "read-only commands leave the file as it was");
});
