import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { AssertionRecorder, SkillTracer, ToolUseLogger, TranscriptWriter } from "../src/producers/index.js";
import { all, holdWriteLock, one, ROOT, spawnCli, tmpDir } from "./helpers.js";
import { recordSnapshot, rowCounts } from "./record-helpers.js";
import type { IngestModule } from "../src/producers/record.js";

const PRODUCERS = path.join(ROOT, "dist", "src", "producers", "index.js");

// The producers load ingest by a computed name (see record.ts); this holds them to its real shape.
const ingestShape: IngestModule = await import("../src/ingest/ingest.js");
void ingestShape;

function setup() {
  const dir = tmpDir("obs-producers-");
  return { dir, db: path.join(dir, "obs.db"), transcripts: path.join(dir, "transcripts") };
}

/** A short run with every kind of record: entries, tool calls of each outcome, a nested skill, a chain. */
async function run(dir: string, db: string, transcripts: string, exec: string) {
  const w = new TranscriptWriter({ executionId: exec, instanceId: "agent-1", dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 0, report: () => {} });
  const tools = new ToolUseLogger(w);
  const skills = new SkillTracer(w, tools);
  const rec = new AssertionRecorder(w, exec, { cwd: dir });
  const ids: Record<string, string> = {};
  ids.phase = w.write({ entryType: "phase_start", summary: "Prime  phase\nstarts", details: { phase: "prime", ratio: 1.5, tags: ["a", "b"] } });
  w.write({ entryType: "task_start", taskId: "T-1", summary: "Starting task T-1", details: { title: "Create user.ts" } });
  ids.read = tools.logStart({ id: "toolu_read", name: "Read", input: { file_path: "src/user.ts" } }, { taskId: "T-1" });
  tools.logEnd(ids.read, { content: "export {}", is_error: false });
  ids.skill = skills.traceStart({ skillName: "code-generation", skillFile: "skills/code-generation.md", lineNumber: 12, sectionTitle: "## Generate" }, { taskId: "T-1" });
  ids.inner = skills.traceStart({ skillName: "formatting", skillFile: "skills/format.md", lineNumber: 3, sectionTitle: "## Format" }, { taskId: "T-1" });
  assert.equal(skills.getActiveSkill(), ids.inner);
  ids.write = tools.logStart({ id: "toolu_write", name: "Write", input: { file_path: "src/user.ts", content: "x".repeat(300) } }, { taskId: "T-1" });
  tools.logEnd(ids.write, { content: [{ type: "text", text: "written" }] });
  skills.traceEnd(ids.inner, "success");
  assert.equal(skills.getActiveSkill(), ids.skill);
  ids.bash = tools.logStart({ id: "toolu_bash", name: "Bash", input: { command: "npm run build" } }, { taskId: "T-1" });
  tools.logEnd(ids.bash, { content: "error TS2304: Cannot find name 'x'", is_error: true });
  skills.traceEnd(ids.skill, "partial", "one build failed");
  ids.blocked = tools.logStart({ id: "toolu_rm", name: "Bash", input: { command: "rm -rf /" } }, { taskId: "T-1" });
  tools.logBlocked(ids.blocked, "Dangerous command blocked by security policy");
  // A call logged outside any skill, then put into one.
  ids.late = tools.logStart({ name: "Grep", input: { pattern: "TODO", path: "src" } }, { taskId: "T-1", withinSkill: null });
  ids.lateSkill = skills.traceStart({ skillName: "review", skillFile: "skills/review.md", lineNumber: 1, sectionTitle: "## Review" });
  skills.addToolCall(ids.lateSkill, ids.late);
  tools.logEnd(ids.late, "3 matches");
  skills.traceEnd(ids.lateSkill, "success");
  fs.writeFileSync(path.join(dir, "user.ts"), "export {}\n");
  ids.chain = rec.startChain("T-1", "Validate CREATE task");
  const created = await rec.assertFileCreated("T-1", "user.ts");
  const missing = await rec.assertFileCreated("T-1", "missing.ts");
  const custom = await rec.assertCustom("T-1", "custom", "prints and fails", "echo out; echo oops >&2; exit 3");
  const chain = rec.endChain(ids.chain);
  w.write({ entryType: "task_end", taskId: "T-1", summary: "Task T-1 done", details: { status: "failed" } });
  // An emoji is two UTF-16 units: here one straddles the cut (units 198–199), there one ends before it.
  w.write({ entryType: "discovery", summary: "a".repeat(198) + "🚀 and more" });
  w.write({ entryType: "discovery", summary: "b".repeat(197) + "🚀 and more" });
  w.setExecutionStatus("completed", "all done");
  w.close();
  return { w, ids, created, missing, custom, chain };
}

test("the TypeScript producers write the record: entries, tool calls, skills, chains, as the seed's interfaces say", async () => {
  const { dir, db, transcripts } = setup();
  const { ids, created, missing, custom, chain } = await run(dir, db, transcripts, "exec-ts");
  const entries = all(db, `SELECT sequence, entry_type, category, summary, task_id FROM transcript_entries WHERE execution_id = 'exec-ts' ORDER BY sequence`);
  // Counted by hand from run(): 5 written entries + 5 tool calls + 3 skills × 2 + 3 assertions.
  assert.equal(entries.length, 5 + 5 + 6 + 3);
  assert.deepEqual(entries.map((e) => e.sequence), entries.map((_, i) => i + 1), "sequences 1..n without a gap");
  assert.equal(entries[0]!.summary, "Prime phase starts");
  assert.deepEqual(entries.map((e) => e.entry_type).slice(0, 5), ["phase_start", "task_start", "tool_use", "skill_invoke", "skill_invoke"]);
  const cut = entries.filter((e) => e.entry_type === "discovery").map((e) => e.summary as string);
  assert.deepEqual(cut, ["a".repeat(198) + "…", "b".repeat(197) + "🚀…"], "cut at 200 UTF-16 units, never inside a character");

  const tool = (id: string) => one(db, `SELECT * FROM tool_uses WHERE id = ?`, id)!;
  assert.equal(ids.read, "toolu_read", "the block's id names the row");
  assert.deepEqual([tool(ids.read).result_status, tool(ids.read).tool_category, tool(ids.read).is_error], ["done", "file_read", 0]);
  assert.deepEqual([tool(ids.bash).result_status, tool(ids.bash).is_error, tool(ids.bash).error_message], ["error", 1, "error TS2304: Cannot find name 'x'"]);
  assert.deepEqual([tool(ids.blocked).result_status, tool(ids.blocked).is_blocked, tool(ids.blocked).block_reason], ["blocked", 1, "Dangerous command blocked by security policy"]);
  assert.equal(tool(ids.write).within_skill, ids.inner, "a call in a nested skill is within the innermost");
  assert.equal(tool(ids.bash).within_skill, ids.skill);
  assert.equal(tool(ids.read).within_skill, null);
  assert.equal(tool(ids.late).within_skill, ids.lateSkill, "addToolCall puts an earlier call into the skill");
  assert.equal(tool(ids.late).input_summary, "TODO in src");
  for (const id of [ids.read, ids.write, ids.bash, ids.late]) {
    const t = tool(id);
    assert.equal(t.duration_ms, Date.parse(t.end_time as string) - Date.parse(t.start_time as string));
    const e = one(db, `SELECT entry_type, details FROM transcript_entries WHERE id = ?`, t.transcript_entry_id)!;
    assert.equal(e.entry_type, "tool_use");
    assert.deepEqual(JSON.parse(e.details as string), { tool_use_id: id, tool: t.tool });
  }
  const skill = one(db, `SELECT * FROM skill_traces WHERE id = ?`, ids.skill)!;
  assert.deepEqual([skill.skill_name, skill.skill_file, skill.line_number, skill.section_title, skill.status, skill.error_message],
    ["code-generation", "skills/code-generation.md", 12, "## Generate", "partial", "one build failed"]);
  assert.deepEqual(JSON.parse(skill.tool_calls as string), [ids.bash], "the outer skill's own calls (the nested one's are its own)");
  assert.deepEqual(JSON.parse(one(db, `SELECT tool_calls FROM skill_traces WHERE id = ?`, ids.lateSkill)!.tool_calls as string), [ids.late]);

  assert.deepEqual([created.result, missing.result, custom.result], ["pass", "fail", "fail"]);
  assert.deepEqual(custom.evidence, { command: "echo out; echo oops >&2; exit 3", cwd: dir, exit_code: 3, stdout: "out\n", stderr: "oops\n", error_message: "exit code 3" });
  assert.deepEqual([chain.overallResult, chain.passCount, chain.failCount, chain.firstFailureId], ["fail", 1, 2, missing.assertionId]);
  const c = one(db, `SELECT * FROM assertion_chains WHERE id = ?`, ids.chain)!;
  assert.deepEqual([c.overall_result, c.pass_count, c.fail_count, c.first_failure_id, c.task_id], ["fail", 1, 2, missing.assertionId, "T-1"]);
  const evidence = JSON.parse(one(db, `SELECT evidence FROM assertion_results WHERE id = ?`, missing.assertionId)!.evidence as string);
  assert.deepEqual(evidence, { file_path: "missing.ts", file_exists: false, error_message: "missing.ts does not exist" });

  assert.deepEqual(one(db, `SELECT status, message FROM task_list_execution_runs WHERE id = 'exec-ts'`), { status: "completed", message: "all done" });
  assert.deepEqual(one(db, `SELECT status, title FROM tasks WHERE id = 'T-1'`), { status: "failed", title: "Create user.ts" });
  const v = spawnCli(["validate", "exec-ts", "--db", db]);
  assert.equal(v.code, 0, "a clean run validates clean: its run and task are recorded\n" + v.stdout);
});

test("one record, two copies that agree: obs ingest of the JSONL gives the producer's rows, and adds nothing to its database", async () => {
  const { dir, db, transcripts } = setup();
  await run(dir, db, transcripts, "exec-agree");
  const jsonl = path.join(transcripts, "exec-agree", "unified.jsonl");
  const lines = fs.readFileSync(jsonl, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
  for (const l of lines) {
    const want = { "transcript:entry": ["entry_id", "sequence"], "tool:start": ["tool_use_id", "transcript_entry_id"], "skill:start": ["skill_trace_id", "transcript_entry_id"],
      "skill:end": ["skill_trace_id", "transcript_entry_id"], "assertion:result": ["assertion_id", "transcript_entry_id"], "assertion:chain_start": ["chain_id"] }[l.kind as string] ?? [];
    for (const f of want) assert.ok(l[f] !== undefined, `${l.kind} carries its ${f}`);
  }
  const fresh = path.join(dir, "fresh.db");
  const r = spawnCli(["ingest", jsonl, "--db", fresh]);
  assert.equal(r.code, 0, r.stderr);
  const mine = recordSnapshot(db, "exec-agree");
  assert.deepEqual(recordSnapshot(fresh, "exec-agree"), mine);
  for (const t of ["transcript_entries", "tool_uses", "skill_traces", "assertion_chains", "assertion_results", "tasks", "task_list_execution_runs"]) {
    assert.ok(mine[t]!.length > 0, `${t} has rows to compare`);
  }
  const before = rowCounts(db);
  const again = spawnCli(["ingest", jsonl, "--db", db]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(rowCounts(db), before);
  assert.deepEqual(recordSnapshot(db, "exec-agree"), mine);
});

test("names another execution already has (a task, a tool id, the agent) are this execution's own: <name>@<execution>, in both copies", () => {
  const { dir, db, transcripts } = setup();
  const open = (exec: string) => new TranscriptWriter({ executionId: exec, instanceId: "agent-1", dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 0, report: () => {} });
  const run = (exec: string) => {
    const w = open(exec);
    w.write({ entryType: "task_start", taskId: "T-1", summary: `T-1 in ${exec}`, details: { title: `T-1 of ${exec}` } });
    const tools = new ToolUseLogger(w);
    const id = tools.logStart({ id: "mock-tool-id", name: "Read", input: { file_path: exec } }, { taskId: "T-1" });
    tools.logEnd("mock-tool-id", `out ${exec}`);
    w.write({ entryType: "task_end", taskId: "T-1", summary: "done" });
    w.close();
    return id;
  };
  assert.equal(run("exec-a"), "mock-tool-id");
  // The agent's name is an agent row of exec-a (from its heartbeats).
  assert.equal(spawnCli(["ingest", "-", "--db", db], { input: JSON.stringify({ kind: "agent:heartbeat", execution_id: "exec-a", timestamp: "2026-01-01T00:00:00.000Z", instance_id: "agent-1", status: "working" }) + "\n" }).code, 0);
  assert.equal(run("exec-b"), "mock-tool-id@exec-b");
  assert.deepEqual(all(db, `SELECT id, execution_id, output_summary, task_id FROM tool_uses ORDER BY id`), [
    { id: "mock-tool-id", execution_id: "exec-a", output_summary: "out exec-a", task_id: "T-1" },
    { id: "mock-tool-id@exec-b", execution_id: "exec-b", output_summary: "out exec-b", task_id: "T-1@exec-b" },
  ]);
  assert.deepEqual(all(db, `SELECT id, execution_id, title, status FROM tasks ORDER BY id`), [
    { id: "T-1", execution_id: "exec-a", title: "T-1 of exec-a", status: "completed" },
    { id: "T-1@exec-b", execution_id: "exec-b", title: "T-1 of exec-b", status: "completed" },
  ], "exec-a keeps its task");
  assert.deepEqual(all(db, `SELECT DISTINCT instance_id FROM transcript_entries WHERE execution_id = 'exec-b'`), [{ instance_id: "agent-1@exec-b" }]);
  assert.deepEqual(all(db, `SELECT DISTINCT instance_id FROM transcript_entries WHERE execution_id = 'exec-a'`), [{ instance_id: "agent-1" }]);
  const fresh = path.join(dir, "fresh.db");
  assert.equal(spawnCli(["ingest", path.join(transcripts, "exec-b", "unified.jsonl"), "--db", fresh]).code, 0);
  assert.deepEqual(recordSnapshot(fresh, "exec-b"), recordSnapshot(db, "exec-b"));
});

test("buffered: nothing reaches the files before a flush, everything after; the interval flushes by itself", async () => {
  const { db, transcripts } = setup();
  const w = new TranscriptWriter({ executionId: "exec-buf", instanceId: "a", dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 100 });
  w.write({ entryType: "checkpoint", summary: "one" });
  assert.equal(fs.existsSync(path.join(transcripts, "exec-buf", "unified.jsonl")), false);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'exec-buf'`)!.n, 1);
  assert.equal(w.getSequence(), 1);
  w.close();
  assert.throws(() => w.write({ entryType: "checkpoint", summary: "after" }), /closed/);
  assert.throws(() => new TranscriptWriter({ executionId: "", instanceId: "a" }), TypeError);
  const w2 = new TranscriptWriter({ executionId: "exec-buf", instanceId: "a", dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 0 });
  assert.throws(() => w2.write({ entryType: "checkpoint", summary: 5 as unknown as string }), /summary must be a string/);
  assert.throws(() => w2.write({ entryType: "checkpoint", summary: "x", durationMs: 1.5 }), /durationMs must be an integer/);
  assert.equal(w2.write({ entryType: "checkpoint", summary: "two" }).length, 36, "ids are UUIDs");
  w2.close();
  assert.deepEqual(all(db, `SELECT sequence FROM transcript_entries WHERE execution_id = 'exec-buf' ORDER BY sequence`).map((r) => r.sequence), [1, 2]);
});

/** A child process writing `n` entries into one execution, flushing every 20 ms. */
function child(dir: string, db: string, transcripts: string, exec: string, who: string, n: number, t?: { after(f: () => void): void }): Promise<{ code: number | null; stderr: string }> {
  const script = path.join(dir, "child.mjs");
  fs.writeFileSync(script, `
    import { TranscriptWriter } from ${JSON.stringify(PRODUCERS)};
    import fs from "node:fs";
    const [exec, who, n, db, transcripts, gate] = process.argv.slice(2);
    const w = new TranscriptWriter({ executionId: exec, instanceId: who, dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 20 });
    // Ready, then wait for the word, so that all the children write at once.
    fs.writeFileSync(gate + "." + who, "");
    // A test that failed before giving the word must not leave this process waiting for ever.
    const giveUp = Date.now() + 180_000;
    while (!fs.existsSync(gate)) {
      if (Date.now() > giveUp) process.exit(3);
      await new Promise((r) => setTimeout(r, 2));
    }
    for (let i = 0; i < Number(n); i++) {
      w.write({ entryType: "checkpoint", summary: who + " " + i });
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    w.close();
  `);
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [script, exec, who, String(n), db, transcripts, path.join(dir, "go")], { stdio: ["ignore", "ignore", "pipe"] });
    // However the test ends, no child outlives it (a live child would keep the test run from ending).
    t?.after(() => {
      if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("exit", (code) => resolve({ code, stderr }));
  });
}

test("4 processes × 500 entries into one execution: 2,000 distinct, gap-free sequences, in time order, in both copies", async (t) => {
  const { dir, db, transcripts } = setup();
  assert.equal(spawnCli(["init", "--db", db]).code, 0);
  const running = ["p1", "p2", "p3", "p4"].map((who) => child(dir, db, transcripts, "exec-many", who, 500, t));
  let ended: { code: number | null; stderr: string } | undefined;
  for (const r of running) void r.then((x) => (ended ??= x));
  // Four Node processes start slowly on a loaded 2-core machine: the limit is generous, and a child that dies first says why.
  const deadline = Date.now() + 120_000;
  while (!["p1", "p2", "p3", "p4"].every((w) => fs.existsSync(path.join(dir, `go.${w}`)))) {
    assert.equal(ended, undefined, `a child ended before it was ready: ${JSON.stringify(ended)}`);
    assert.ok(Date.now() < deadline, "the children were ready within 120 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  fs.writeFileSync(path.join(dir, "go"), "");
  const results = await Promise.all(running);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const rows = all(db, `SELECT sequence, timestamp, instance_id, summary FROM transcript_entries WHERE execution_id = 'exec-many' ORDER BY sequence`);
  assert.equal(rows.length, 2000);
  assert.deepEqual(rows.map((r) => r.sequence), Array.from({ length: 2000 }, (_, i) => i + 1));
  for (let i = 1; i < rows.length; i++) assert.ok((rows[i]!.timestamp as string) >= (rows[i - 1]!.timestamp as string), `sequence ${i + 1} is not earlier than ${i}`);
  const switches = rows.filter((r, i) => i > 0 && r.instance_id !== rows[i - 1]!.instance_id).length;
  assert.ok(switches > 10, `the writers ran at the same time (${switches} changes of writer along the sequence)`);
  for (const who of ["p1", "p2", "p3", "p4"]) {
    const mine = rows.filter((r) => r.instance_id === who).map((r) => Number((r.summary as string).split(" ")[1]));
    assert.deepEqual(mine, Array.from({ length: 500 }, (_, i) => i), `${who}'s entries are in its own order`);
  }
  const lines = fs.readFileSync(path.join(transcripts, "exec-many", "unified.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
  const seqs = lines.filter((l) => l.kind === "transcript:entry").map((l) => l.sequence as number).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: 2000 }, (_, i) => i + 1), "the JSONL holds the same 2,000 (every line whole)");
  const v = spawnCli(["query", "V001", "exec-many", "--json", "--db", db]);
  assert.deepEqual(JSON.parse(v.stdout), []);
});

test("a writer starting an execution while another process holds its new counter file's write lock waits for it, then counts from 1", async () => {
  // Several agents starting one execution at once all open its new counter file and switch it to
  // WAL: a switch SQLite does not wait for (see walMode), so the writer waits itself.
  const { transcripts } = setup();
  const counter = path.join(transcripts, "exec-start", "unified.seq");
  fs.mkdirSync(path.dirname(counter), { recursive: true });
  const holder = await holdWriteLock(counter, 1000);
  const started = Date.now();
  const w = new TranscriptWriter({ executionId: "exec-start", instanceId: "a", database: false, transcriptsDir: transcripts, flushIntervalMs: 0 });
  const made = Date.now();
  w.write({ entryType: "checkpoint", summary: "first" });
  w.close();
  const released = await holder.released;
  assert.ok(started < released, `the other process let go (${released}) before the writer started (${started}): a stalled machine, not a wait; run it again`);
  assert.ok(made >= released, `the writer had its counter (${made}) before the other process let go of it (${released})`);
  const lines = fs.readFileSync(path.join(transcripts, "exec-start", "unified.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((l) => l.kind === "transcript:entry").map((l) => [l.sequence, l.summary]), [[1, "first"]]);
});

test("a locked, missing or foreign database never stops the agent: said once, the JSONL goes on, the database catches up", async () => {
  const { dir, db, transcripts } = setup();
  const reports: string[] = [];
  const open = (exec: string, dbPath = db) => new TranscriptWriter({ executionId: exec, instanceId: "a", dbPath, transcriptsDir: transcripts, flushIntervalMs: 0, report: (m) => reports.push(m) });
  const summaries = (file: string, exec: string) => all(file, `SELECT summary FROM transcript_entries WHERE execution_id = ? ORDER BY sequence`, exec).map((r) => r.summary);

  const w = open("exec-locked");
  w.write({ entryType: "checkpoint", summary: "before" });
  w.flush();
  const { default: Database } = await import("better-sqlite3");
  const holder = new Database(db);
  holder.exec("BEGIN EXCLUSIVE; INSERT INTO obs_meta (key, value) VALUES ('held', 'yes')");
  w.write({ entryType: "checkpoint", summary: "while locked 1" });
  w.flush();
  w.write({ entryType: "checkpoint", summary: "while locked 2" });
  w.flush();
  assert.equal(reports.length, 1, reports.join(""));
  assert.match(reports[0]!, /^obs producer: cannot write .*obs\.db \(SQLITE_BUSY: gave up after waiting \d+\.\d s for another program to finish writing .*obs\.db \(--wait\)\); the record goes on in .*exec-locked\/unified\.jsonl, and the database is tried again at each flush — `obs ingest .*` brings a database up to date\n$/);
  holder.exec("ROLLBACK");
  holder.close();
  w.write({ entryType: "checkpoint", summary: "after" });
  w.close();
  assert.deepEqual(summaries(db, "exec-locked"), ["before", "while locked 1", "while locked 2", "after"]);
  assert.match(reports[1]!, /is written again; 3 waiting line\(s\) caught up/);

  const missing = path.join(dir, "later", "obs.db");
  const m = open("exec-missing", missing);
  m.write({ entryType: "checkpoint", summary: "one" });
  m.flush();
  m.write({ entryType: "checkpoint", summary: "two" });
  m.close();
  assert.equal(reports.filter((r) => r.includes(missing)).length, 1);
  const other = path.join(dir, "other.db");
  assert.equal(spawnCli(["ingest", path.join(transcripts, "exec-missing", "unified.jsonl"), "--db", other]).code, 0);
  assert.deepEqual(summaries(other, "exec-missing"), ["one", "two"], "obs ingest catches a database up from the JSONL");

  const foreign = path.join(dir, "notes.db");
  fs.writeFileSync(foreign, "not a database\n".repeat(100));
  const f = open("exec-foreign", foreign);
  for (let i = 0; i < 3; i++) {
    f.write({ entryType: "checkpoint", summary: String(i) });
    f.flush();
  }
  f.close();
  const said = reports.filter((r) => r.includes("notes.db"));
  assert.equal(said.length, 1);
  assert.match(said[0]!, /is not a SQLite database/);
  assert.doesNotMatch(said[0]!, /tried again/);
  assert.equal(fs.readFileSync(foreign, "utf8"), "not a database\n".repeat(100));
  assert.equal(fs.readFileSync(path.join(transcripts, "exec-foreign", "unified.jsonl"), "utf8").trimEnd().split("\n").filter((l) => l.includes('"transcript:entry"')).length, 3);
});

test("the pre-built assertions run what they say: tsc --noEmit in the working directory, any command under a timeout", async () => {
  const { dir, db, transcripts } = setup();
  const project = path.join(dir, "project");
  fs.mkdirSync(path.join(project, "node_modules", ".bin"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules", ".bin", "tsc"), path.join(project, "node_modules", ".bin", "tsc"));
  fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: [] }, files: ["ok.ts"] }));
  fs.writeFileSync(path.join(project, "ok.ts"), "export const n: number = 1;\n");
  const w = new TranscriptWriter({ executionId: "exec-tsc", instanceId: "a", dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 0 });
  const rec = new AssertionRecorder(w, "exec-tsc", { cwd: project });
  const good = await rec.assertTypescriptCompiles("T-1");
  fs.writeFileSync(path.join(project, "ok.ts"), "export const n: number = 'one';\n");
  const bad = await rec.assertTypescriptCompiles("T-1");
  const t0 = Date.now();
  const slow = await rec.assertCustom("T-1", "custom", "sleeps", "sleep 30", { timeoutMs: 500 });
  w.close();
  assert.deepEqual([good.result, good.evidence.exit_code], ["pass", 0], JSON.stringify(good.evidence));
  assert.equal(bad.result, "fail");
  assert.notEqual(bad.evidence.exit_code, 0);
  assert.match(bad.evidence.stdout!, /TS2322/);
  assert.match(bad.evidence.command!, /node_modules\/\.bin\/tsc --noEmit$/);
  assert.ok(Date.now() - t0 < 10_000, "stopped at its timeout");
  assert.deepEqual([slow.result, slow.evidence.exit_code, slow.evidence.timed_out, slow.evidence.error_message], ["fail", null, true, "timed out after 500 ms; stopped"]);
});
