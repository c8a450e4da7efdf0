import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { PAYLOAD_MAX } from "../src/ingest/shape.js";
import { normaliseTimestamp } from "../src/ingest/events.js";
import Database from "better-sqlite3";
import { SCHEMA_VERSION } from "../src/db/migrations.js";
import { all, BIN, cli, events, one, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

/** One small run with every kind, times worked out by hand (see the expectations below). */
function fixture(): Record<string, unknown>[] {
  const { ev } = events("exec-t");
  const T = (s: number) => s * 1000;
  return [
    ev("execution:status", { status: "started", task_list_id: "tl-1" }, T(0)),
    ev("task:status", { task_id: "task-1", status: "running", title: "Create user.ts", depends_on: ["task-0"], wave_id: "w-1" }, T(1)),
    ev("wave:status", { wave_id: "w-1", wave_number: 1, status: "running", task_ids: ["task-1"] }, T(1)),
    ev("skill:start", { skill_trace_id: "sk-1", skill_name: "validation", skill_file: "SKILLS.md", line_number: 42, section_title: "## Validation", task_id: "task-1" }, T(2)),
    ev("tool:start", { tool_use_id: "tu-1", tool: "Read", input: { file_path: "src/a.ts" }, within_skill: "sk-1", task_id: "task-1", instance_id: "ag-1" }, T(3)),
    ev("tool:end", { tool_use_id: "tu-1", is_error: false, output: "x" }, T(4.25)),
    ev("tool:start", { tool_use_id: "tu-2", tool: "Bash", input: { command: "npm test" }, task_id: "task-1" }, T(5)),
    ev("tool:end", { tool_use_id: "tu-2", is_error: true, error_message: "boom" }, T(7)),
    ev("tool:start", { tool_use_id: "tu-3", tool: "Bash", input: { command: "rm -rf /" }, task_id: "task-1" }, T(8)),
    ev("tool:blocked", { tool_use_id: "tu-3", reason: "Security policy" }, T(8.1)),
    ev("skill:end", { skill_trace_id: "sk-1", status: "success" }, T(9)),
    ev("assertion:chain_start", { chain_id: "ch-1", task_id: "task-1", description: "Validate CREATE" }, T(10)),
    ev("assertion:result", { assertion_id: "a-1", chain_id: "ch-1", task_id: "task-1", category: "file_created", description: "src/a.ts created", result: "pass" }, T(11)),
    ev("assertion:result", { assertion_id: "a-2", chain_id: "ch-1", task_id: "task-1", category: "tests_pass", description: "tests pass", result: "fail", evidence: { command: "npm test", exit_code: 1 } }, T(12)),
    ev("assertion:result", { assertion_id: "a-3", chain_id: "ch-1", task_id: "task-1", category: "lint_passes", description: "lint", result: "skip" }, T(13)),
    ev("assertion:chain_end", { chain_id: "ch-1" }, T(14)),
    ev("agent:heartbeat", { instance_id: "ag-1", status: "working", current_task_id: "task-1", wave_id: "w-1" }, T(15)),
    ev("agent:heartbeat", { instance_id: "ag-1", status: "completed", current_task_id: "task-1" }, T(16)),
    ev("task:status", { task_id: "task-1", status: "completed", wave_id: "w-1" }, T(17)),
    ev("wave:status", { wave_id: "w-1", wave_number: 1, status: "completed" }, T(18)),
    ev("messagebus:event", { event_id: "ev-1", source: "ag-1", event_type: "disk.full", severity: "error", human_summary: "Disk full", correlation_id: "c-1" }, T(19)),
    ev("llm:call", { model: "claude-sonnet-4-5", input_tokens: 100, output_tokens: 50, cost_usd: 0.01, duration_ms: 2000 }, T(20)),
    // A TranscriptWriter line (no kind), in another offset.
    { execution_id: "exec-t", timestamp: "2026-01-16T11:00:21+02:00", entry_type: "discovery", category: "learning", summary: "found it" },
    // Epoch milliseconds.
    { kind: "execution:status", execution_id: "exec-t", timestamp: Date.parse("2026-01-16T09:00:22.000Z"), status: "completed" },
  ];
}

test("every kind folds into its tables with the derived rows", async () => {
  const db = tmpDb();
  const file = writeJsonl(path.join(tmpDir(), "unified.jsonl"), fixture());
  const r = await cli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "", "ingest prints its statistics on stderr, not stdout");
  assert.match(r.stderr, /ingested 1 source: 24 lines, 24 events .*0 rejected/);

  assert.deepEqual(
    { ...one(db, `SELECT status, task_list_id, started_at, completed_at FROM task_list_execution_runs WHERE id = 'exec-t'`) },
    { status: "completed", task_list_id: "tl-1", started_at: "2026-01-16T09:00:00.000Z", completed_at: "2026-01-16T09:00:22.000Z" },
  );
  const tools = all(db, `SELECT id, tool, tool_category, input_summary, result_status, is_error, is_blocked, block_reason, error_message, duration_ms, within_skill,
                                transcript_entry_id IS NOT NULL AS linked FROM tool_uses ORDER BY id`);
  assert.deepEqual(tools.map((t) => ({ ...t })), [
    { id: "tu-1", tool: "Read", tool_category: "file_read", input_summary: "src/a.ts", result_status: "done", is_error: 0, is_blocked: 0, block_reason: null, error_message: null, duration_ms: 1250, within_skill: "sk-1", linked: 1 },
    { id: "tu-2", tool: "Bash", tool_category: "shell", input_summary: "npm test", result_status: "error", is_error: 1, is_blocked: 0, block_reason: null, error_message: "boom", duration_ms: 2000, within_skill: null, linked: 1 },
    { id: "tu-3", tool: "Bash", tool_category: "shell", input_summary: "rm -rf /", result_status: "blocked", is_error: 0, is_blocked: 1, block_reason: "Security policy", error_message: null, duration_ms: 100, within_skill: null, linked: 1 },
  ]);
  assert.deepEqual({ ...one(db, `SELECT status, duration_ms, tool_calls FROM skill_traces WHERE id = 'sk-1'`) }, { status: "success", duration_ms: 7000, tool_calls: '["tu-1"]' });
  assert.deepEqual(
    { ...one(db, `SELECT overall_result, pass_count, fail_count, skip_count, first_failure_id, completed_at FROM assertion_chains WHERE id = 'ch-1'`) },
    { overall_result: "fail", pass_count: 1, fail_count: 1, skip_count: 1, first_failure_id: "a-2", completed_at: "2026-01-16T09:00:14.000Z" },
  );
  assert.deepEqual(
    { ...one(db, `SELECT task_count, completed_count, failed_count, pass_rate, duration_ms, max_parallel_agents FROM wave_statistics WHERE wave_id = 'w-1'`) },
    { task_count: 1, completed_count: 1, failed_count: 0, pass_rate: 0.5, duration_ms: 17000, max_parallel_agents: 0 },
  );
  assert.deepEqual({ ...one(db, `SELECT status, spawned_at, last_heartbeat_at, completed_at FROM build_agent_instances WHERE id = 'ag-1'`) }, {
    status: "completed", spawned_at: "2026-01-16T09:00:15.000Z", last_heartbeat_at: "2026-01-16T09:00:16.000Z", completed_at: "2026-01-16T09:00:16.000Z",
  });
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM agent_heartbeats`)?.n, 2);
  assert.deepEqual({ ...one(db, `SELECT status, started_at, completed_at FROM tasks WHERE id = 'task-1'`) }, { status: "completed", started_at: "2026-01-16T09:00:01.000Z", completed_at: "2026-01-16T09:00:17.000Z" });
  assert.deepEqual(all(db, `SELECT task_id, depends_on_task_id FROM task_dependencies`).map((r) => ({ ...r })), [{ task_id: "task-1", depends_on_task_id: "task-0" }]);
  assert.equal(one(db, `SELECT human_summary FROM message_bus_log WHERE event_id = 'ev-1'`)?.human_summary, "Disk full");
  assert.deepEqual({ ...one(db, `SELECT model, input_tokens, output_tokens, cost_usd, start_time, end_time FROM llm_calls`) }, {
    model: "claude-sonnet-4-5", input_tokens: 100, output_tokens: 50, cost_usd: 0.01, start_time: "2026-01-16T09:00:18.000Z", end_time: "2026-01-16T09:00:20.000Z",
  });
  // Entries: skill_invoke, 3 tool_use, skill_complete, 3 assertion, and the TranscriptWriter line, numbered 1..9.
  const entries = all(db, `SELECT sequence, entry_type, timestamp FROM transcript_entries ORDER BY sequence`);
  assert.deepEqual(entries.map((e) => e.entry_type), ["skill_invoke", "tool_use", "tool_use", "tool_use", "skill_complete", "assertion", "assertion", "assertion", "discovery"]);
  assert.deepEqual(entries.map((e) => e.sequence), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(entries[8]!.timestamp, "2026-01-16T09:00:21.000Z", "+02:00 normalised to UTC");
  assert.equal(one(db, `SELECT lines, rejected_lines FROM ingest_log`)?.lines, 24);
});

test("timestamps are normalised to ISO UTC with milliseconds", () => {
  assert.equal(normaliseTimestamp("2026-01-16T09:30:00.123Z"), "2026-01-16T09:30:00.123Z");
  assert.equal(normaliseTimestamp("2026-01-16T11:30:00+02:00"), "2026-01-16T09:30:00.000Z");
  assert.equal(normaliseTimestamp("2026-01-16T09:30:00"), "2026-01-16T09:30:00.000Z", "no offset means UTC");
  assert.equal(normaliseTimestamp("2026-01-16 09:30:00.5+0000"), "2026-01-16T09:30:00.500Z");
  assert.equal(normaliseTimestamp(1768555800123), "2026-01-16T09:30:00.123Z");
  assert.equal(normaliseTimestamp("yesterday"), null);
  assert.equal(normaliseTimestamp("1"), null);
  assert.equal(normaliseTimestamp(42), null, "a small number is not a plausible epoch-ms time");
});

test("ingesting the same file again adds nothing; a grown file adds only its new lines", async () => {
  const db = tmpDb();
  const file = writeJsonl(path.join(tmpDir(), "unified.jsonl"), fixture());
  await cli(["ingest", file, "--db", db]);
  const count = () =>
    Object.fromEntries(["transcript_entries", "tool_uses", "assertion_results", "agent_heartbeats", "message_bus_log", "llm_calls"].map((t) => [t, one(db, `SELECT COUNT(*) AS n FROM ${t}`)?.n]));
  const before = count();
  const again = await cli(["ingest", file, "--db", db]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /already up to date/);
  assert.deepEqual(count(), before);

  const { ev } = events("exec-t", "2026-01-16T09:01:00.000Z");
  fs.appendFileSync(file, JSON.stringify(ev("transcript:entry", { entry_type: "checkpoint", category: "lifecycle", summary: "cp 1" })) + "\n");
  fs.appendFileSync(file, JSON.stringify(ev("transcript:entry", { entry_type: "checkpoint", category: "lifecycle", summary: "cp 2" })) + "\n");
  const grown = await cli(["ingest", file, "--db", db]);
  assert.match(grown.stderr, /2 lines, 2 events/);
  assert.deepEqual(count(), { ...before, transcript_entries: (before.transcript_entries as number) + 2 });
  assert.deepEqual(all(db, `SELECT sequence FROM transcript_entries WHERE entry_type = 'checkpoint' ORDER BY sequence`).map((r) => r.sequence), [10, 11]);
  assert.equal(one(db, `SELECT lines FROM ingest_log`)?.lines, 26);
});

test("a replaced file is noticed and read from its start", async () => {
  const db = tmpDb();
  const file = writeJsonl(path.join(tmpDir(), "unified.jsonl"), fixture());
  await cli(["ingest", file, "--db", db]);
  const { ev } = events("exec-other");
  writeJsonl(file, [ev("transcript:entry", { entry_type: "phase_start", category: "lifecycle", summary: "new file" })]);
  const r = await cli(["ingest", file, "--db", db]);
  assert.match(r.stderr, /changed since it was last ingested/);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'exec-other'`)?.n, 1);
});

test("lines of one id may come in any order: reversed gives the same rows", async () => {
  const forward = tmpDb();
  const reversed = tmpDb();
  const lines = fixture();
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "f.jsonl"), lines), "--db", forward]);
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "r.jsonl"), [...lines].reverse()), "--db", reversed]);
  const q: Record<string, string> = {
    tools: `SELECT id, tool, result_status, is_error, is_blocked, start_time, end_time, duration_ms, within_skill, error_message, block_reason FROM tool_uses ORDER BY id`,
    skills: `SELECT id, status, start_time, end_time, duration_ms, tool_calls FROM skill_traces`,
    chains: `SELECT id, overall_result, pass_count, fail_count, skip_count, first_failure_id, started_at, completed_at FROM assertion_chains`,
    agents: `SELECT id, status, spawned_at, last_heartbeat_at, completed_at FROM build_agent_instances`,
    tasks: `SELECT id, status, started_at, completed_at FROM tasks`,
    runs: `SELECT id, status, started_at, completed_at FROM task_list_execution_runs`,
  };
  for (const [name, sql] of Object.entries(q)) {
    assert.deepEqual(all(reversed, sql).map((r) => ({ ...r })), all(forward, sql).map((r) => ({ ...r })), name);
  }
  // A tool use that only ever got its end keeps it, with no start and no duration.
  const endOnly = tmpDb();
  const { ev } = events("exec-e");
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "e.jsonl"), [ev("tool:end", { tool_use_id: "tu-x", is_error: false })]), "--db", endOnly]);
  assert.deepEqual({ ...one(endOnly, `SELECT result_status, start_time, duration_ms, transcript_entry_id FROM tool_uses`) }, { result_status: "done", start_time: null, duration_ms: null, transcript_entry_id: null });
});

test("nothing is repaired: gaps, repeats and dangling references are stored as they came", async () => {
  const db = tmpDb();
  const { ev } = events("exec-g");
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "g.jsonl"), [
    ev("transcript:entry", { entry_type: "task_start", category: "lifecycle", summary: "a", sequence: 1 }),
    ev("transcript:entry", { entry_type: "task_end", category: "lifecycle", summary: "b", sequence: 5 }),
    ev("transcript:entry", { entry_type: "task_end", category: "lifecycle", summary: "c", sequence: 5, id: "dup" }),
    ev("assertion:result", { assertion_id: "a-9", chain_id: "no-such-chain", task_id: "t", category: "custom", description: "d", result: "pass" }),
  ]), "--db", db]);
  assert.deepEqual(all(db, `SELECT sequence FROM transcript_entries ORDER BY sequence, id`).map((r) => r.sequence), [1, 5, 5, 6]);
  assert.equal(one(db, `SELECT chain_id FROM assertion_results`)?.chain_id, "no-such-chain");
});

function badFile(): string {
  const { ev } = events("exec-bad");
  return writeJsonl(path.join(tmpDir(), "events.jsonl"), [
    ev("transcript:entry", { entry_type: "task_start", category: "lifecycle", summary: "ok 1" }),
    ev("transcript:entry", { entry_type: "task_end", category: "lifecycle", summary: "ok 2" }),
    "{not json",
    ev("tool:start", { tool: "Read", input: {} }),
    ev("transcript:entry", { entry_type: "task_end", category: "lifecycle", summary: "x", sequence: 1.5 }),
    ev("bogus:kind", {}),
    { kind: "transcript:entry", execution_id: "exec-bad", timestamp: "soon", entry_type: "error", category: "c", summary: "s" },
    ev("transcript:entry", { entry_type: "task_end", category: "lifecycle", summary: "ok 3" }),
  ]);
}

test("bad lines are named with file and line, and by default nothing of that file is written", async () => {
  const db = tmpDb();
  const file = badFile();
  const good = writeJsonl(path.join(tmpDir(), "good.jsonl"), [events("exec-good").ev("transcript:entry", { entry_type: "task_start", category: "lifecycle", summary: "fine" })]);
  const r = await cli(["ingest", file, good, "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file}:3: not JSON`));
  assert.match(r.stderr, new RegExp(`${file}:4: tool:start: missing field tool_use_id`));
  assert.match(r.stderr, new RegExp(`${file}:5: transcript:entry: sequence must be an integer, got number 1.5`));
  assert.match(r.stderr, new RegExp(`${file}:6: unknown kind "bogus:kind"`));
  assert.match(r.stderr, new RegExp(`${file}:7: timestamp does not parse: "soon"`));
  assert.match(r.stderr, /nothing written \(5 bad lines\); fix them, or pass --skip-invalid/);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'exec-bad'`)?.n, 0);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM ingest_log WHERE path = ?`, path.resolve(file))?.n, 0);
  // The other, good source went in.
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'exec-good'`)?.n, 1);
});

test("--skip-invalid writes the good lines, lists the bad and says how many", async () => {
  const db = tmpDb();
  const file = badFile();
  const r = await cli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, new RegExp(`${file}:3: not JSON`));
  assert.match(r.stderr, /skipped 5 bad lines \(--skip-invalid\)/);
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries ORDER BY sequence`).map((x) => x.summary), ["ok 1", "ok 2", "ok 3"]);
  assert.equal(one(db, `SELECT rejected_lines FROM ingest_log`)?.rejected_lines, 5);
  // The same file again adds nothing and does not re-report its bad lines.
  const again = await cli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.stderr, /not JSON/);
});

test("--json prints the statistics as one object on stdout", async () => {
  const db = tmpDb();
  const r = await cli(["ingest", writeJsonl(path.join(tmpDir(), "u.jsonl"), fixture()), "--db", db, "--json"]);
  const stats = JSON.parse(r.stdout);
  assert.equal(stats.sources, 1);
  assert.equal(stats.lines, 24);
  // The kinds, counted from the fixture's own lines (one without a kind is a transcript entry).
  const kinds: Record<string, number> = {};
  for (const l of fixture()) {
    const k = (l.kind as string | undefined) ?? "transcript:entry";
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  assert.deepEqual(stats.by_kind, kinds);
  assert.equal(stats.events, 24);
  assert.equal(stats.rejected, 0);
  // The rate is the lines over the time, which is given to the millisecond (so ± half of one).
  const [fastest, slowest] = [24 / Math.max(stats.seconds - 0.0005, 1e-9), 24 / (stats.seconds + 0.0005)];
  assert.ok(stats.lines_per_second >= Math.floor(slowest) && stats.lines_per_second <= Math.ceil(fastest), `${stats.lines_per_second} lines/s for 24 lines in ${stats.seconds} s`);
});

test("payloads are capped and marked as cut; summaries are at most 200 characters", async () => {
  const db = tmpDb();
  const { ev } = events("exec-cap");
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "c.jsonl"), [
    ev("tool:start", { tool_use_id: "tu-big", tool: "Write", input: { file_path: "big.txt", content: "x".repeat(200_000) } }),
    ev("tool:start", { tool_use_id: "tu-long", tool: "Bash", input: { command: "echo " + "y".repeat(500) } }),
  ]), "--db", db]);
  const big = one(db, `SELECT input, input_summary FROM tool_uses WHERE id = 'tu-big'`)!;
  const stored = JSON.parse(big.input as string);
  assert.equal(stored._obs_cut, true);
  assert.ok((big.input as string).length <= PAYLOAD_MAX);
  assert.ok(stored.original_chars > 200_000);
  assert.equal(big.input_summary, "big.txt");
  const long = one(db, `SELECT input_summary FROM tool_uses WHERE id = 'tu-long'`)!;
  assert.equal((long.input_summary as string).length, 200);
  assert.ok((long.input_summary as string).endsWith("…"));
});

test("directories are walked for *.jsonl, and stdin (-) is idempotent by content", async () => {
  const db = tmpDb();
  const dir = tmpDir();
  writeJsonl(path.join(dir, "a", "unified.jsonl"), [events("exec-a").ev("transcript:entry", { entry_type: "task_start", category: "c", summary: "a" })]);
  writeJsonl(path.join(dir, "b", "c", "unified.jsonl"), [events("exec-b").ev("transcript:entry", { entry_type: "task_start", category: "c", summary: "b" })]);
  fs.writeFileSync(path.join(dir, "notes.txt"), "not an event file");
  const r = await cli(["ingest", dir, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ingested 2 sources/);
  const line = JSON.stringify(events("exec-s").ev("transcript:entry", { entry_type: "task_start", category: "c", summary: "s" })) + "\n";
  await cli(["ingest", "-", "--db", db], { stdin: line });
  await cli(["ingest", "-", "--db", db], { stdin: line });
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'exec-s'`)?.n, 1);
});

test("a missing source is a usage error naming it", async () => {
  const r = await cli(["ingest", "/no/such/file.jsonl", "--db", tmpDb()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no such file or directory: \/no\/such\/file.jsonl/);
});

test("a kill mid-file written in one transaction leaves nothing of it; ingesting again loads it exactly once", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "big.jsonl");
  const N = 400_000;
  const out = fs.openSync(file, "w");
  let buf = "";
  for (let i = 0; i < N; i++) {
    buf += `{"kind":"transcript:entry","execution_id":"exec-k","timestamp":"2026-01-16T09:00:00.000Z","entry_type":"checkpoint","category":"c","summary":"line ${i}"}\n`;
    if (buf.length > 1 << 20) { fs.writeSync(out, buf); buf = ""; }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);

  // One transaction for the whole file (a step longer than it): a source written in steps is
  // streaming.test.ts's, where the next writer takes a killed one out.
  const child = spawn(process.execPath, [BIN, "ingest", file, "--db", db], { stdio: "ignore", env: { ...process.env, OBS_INGEST_STEP: "10000000" } });
  let exited = false;
  child.on("exit", () => (exited = true));
  // Killed while its one transaction for the file is open: after the schema is committed, the
  // -wal grows again only when that transaction spills pages into it. Waited for, not slept.
  const walSize = () => fs.statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  const migrated = () => {
    try {
      const r = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return (r.prepare(`SELECT value FROM obs_meta WHERE key = 'schema_version'`).get() as { value: string } | undefined)?.value === String(SCHEMA_VERSION);
      } finally {
        r.close();
      }
    } catch {
      return false; // not made yet
    }
  };
  const pause = () => new Promise((r) => setTimeout(r, 20));
  const deadline = Date.now() + 120_000;
  while (!exited && Date.now() < deadline && !migrated()) await pause();
  const schemaOnly = walSize();
  while (!exited && Date.now() < deadline && walSize() < schemaOnly + (1 << 20)) await pause();
  child.kill("SIGKILL");
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on("exit", (c, s) => r([c, s])));
  assert.equal(signal, "SIGKILL", `ingest finished (exit ${code}) before it could be killed: make the file bigger`);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries`)?.n, 0);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM ingest_log`)?.n, 0);

  const again = await cli(["ingest", file, "--db", db]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries`)?.n, N);
  assert.equal(one(db, `SELECT COUNT(DISTINCT sequence) AS n FROM transcript_entries`)?.n, N);
});
