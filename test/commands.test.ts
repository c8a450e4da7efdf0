/**
 * End to end: the built CLI on the demo database, as a person (compared with the snapshot files
 * in test/snapshots/, NO_COLOR, 120 columns) and as a script (--json), with exit codes and
 * stderr. UPDATE_SNAPSHOTS=1 npm test rewrites the snapshots after a deliberate change.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { openReadOnly } from "../src/db/open.js";
import { readSnapshot } from "../src/live/snapshot.js";
import { ROOT, spawnCli, tmpDir } from "./helpers.js";

const dir = tmpDir();
const db = path.join(dir, "demo.db");
assert.equal(spawnCli(["demo", "--db", db]).code, 0);
/** The demo's runs ended on 2026-11-20; "now" is fixed so nothing depends on the clock. */
const env = { OBS_NOW: "2026-11-21T00:00:00.000Z" };
const obs = (...args: string[]) => spawnCli([...args, "--db", db], { env });

const SNAPSHOTS = path.join(ROOT, "test", "snapshots");
function snapshot(name: string, actual: string): void {
  const file = path.join(SNAPSHOTS, `${name}.txt`);
  if (process.env.UPDATE_SNAPSHOTS || !fs.existsSync(file)) {
    fs.mkdirSync(SNAPSHOTS, { recursive: true });
    fs.writeFileSync(file, actual);
    if (!process.env.UPDATE_SNAPSHOTS) assert.fail(`wrote a new snapshot ${name}.txt; check it and run again`);
    return;
  }
  assert.equal(actual, fs.readFileSync(file, "utf8"), `output differs from test/snapshots/${name}.txt`);
}

const HUMAN: [string, string[], number][] = [
  ["validate-clean", ["validate", "exec-102"], 0],
  ["validate-defects", ["validate", "exec-103"], 1],
  ["errors", ["errors", "exec-103"], 1],
  ["errors-task", ["errors", "--task", "task-103-19"], 1],
  ["trace", ["trace", "task-103-13"], 0],
  ["trace-tree", ["trace", "task-103-13", "--tree"], 0],
  ["trace-tools", ["trace", "exec-103", "--tools"], 0],
  ["trace-decisions", ["trace", "exec-103", "--decisions", "--limit", "5"], 0],
  ["trace-correlation", ["trace", "--correlation", "corr-task-103-13"], 0],
  ["trace-exec", ["trace", "--exec", "exec-102", "--limit", "3"], 0],
  ["summary", ["summary", "exec-103"], 0],
  ["compare", ["compare"], 0],
  ["waves", ["waves", "exec-103", "--overlaps", "--limit", "6"], 0],
  ["anomalies", ["anomalies", "exec-103"], 1],
  ["anomalies-clean", ["anomalies", "exec-102"], 0],
  ["queries", ["queries"], 0],
  ["query", ["query", "P002", "exec-103"], 0],
  ["ls", ["ls"], 0],
  ["search", ["search", "ECONNREFUSED", "--limit", "5"], 0],
  ["search-type", ["search", "migrate*", "--type", "tool", "--exec", "exec-103"], 0],
];

for (const [name, args, code] of HUMAN) {
  test(`obs ${args.join(" ")} — for people`, () => {
    const r = obs(...args);
    assert.equal(r.stderr, "", "nothing on stderr when all went well");
    assert.equal(r.code, code, r.stdout);
    assert.doesNotMatch(r.stdout, /\x1b\[/, "NO_COLOR is honoured");
    for (const l of r.stdout.split("\n")) assert.ok([...l].length <= 120, `wider than COLUMNS=120: ${l}`);
    snapshot(name, r.stdout);
  });
}

test("validate --json has the documented shape; exit codes gate CI", () => {
  const bad = obs("validate", "exec-103", "--json");
  assert.equal(bad.code, 1);
  const v = JSON.parse(bad.stdout);
  assert.deepEqual(Object.keys(v), ["execution_id", "ok", "checks"]);
  assert.equal(v.ok, false);
  assert.deepEqual(v.checks.map((c: { id: string }) => c.id), ["V001", "V002", "V003", "V004", "V005", "V006", "V007"]);
  assert.deepEqual(Object.keys(v.checks[0]), ["id", "title", "ok", "count", "rows"]);
  assert.deepEqual(v.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { id: string; count: number }) => [c.id, c.count]), [["V004", 1], ["V005", 1]]);
  const all = obs("validate", "--all", "--json");
  assert.equal(all.code, 1);
  assert.deepEqual(JSON.parse(all.stdout).map((x: { execution_id: string; ok: boolean }) => [x.execution_id, x.ok]), [["exec-103", false], ["exec-102", true], ["exec-101", true]]);
  const good = obs("validate", "exec-102", "exec-101");
  assert.equal(good.code, 0);
});

test("the multi-query commands' --json is keyed by query id", () => {
  const keys = (args: string[]) => Object.keys(JSON.parse(obs(...args, "--json").stdout));
  assert.deepEqual(keys(["errors", "exec-103"]), ["execution_id", "T001", "T002", "T003", "T004", "T005"]);
  assert.deepEqual(keys(["errors", "--task", "task-103-07"]), ["task_id", "status", "blocked", "T006"]);
  assert.deepEqual(keys(["summary", "exec-103"]), ["execution_id", "A001", "A002", "A003", "A004", "A005", "models", "agents"]);
  assert.deepEqual(keys(["compare"]), ["task_list_id", "A006"]);
  assert.deepEqual(keys(["waves", "exec-103", "--overlaps"]), ["execution_id", "P001", "P002", "P003", "P004", "P005", "P006", "P007"]);
  assert.deepEqual(keys(["anomalies", "exec-103"]), ["execution_id", "D001", "D002", "D003", "D004", "D005", "D006", "D007"]);
  const errors = JSON.parse(obs("errors", "exec-103", "--json").stdout);
  assert.equal(errors.T003[0].error_type, "tool_error");
  assert.match(errors.T003[0].details, /ECONNREFUSED/);
  assert.equal(JSON.parse(obs("errors", "exec-103", "--json", "--limit", "2").stdout).T001.length, 2);
});

test("obs query --json prints exactly an array, [] when nothing is found; --sql prints the SQL", () => {
  const rows = JSON.parse(obs("query", "V004", "exec-103", "--json").stdout);
  assert.deepEqual(rows.map((r: { instance_id: string; file_path: string }) => [r.instance_id, r.file_path]), [["agent-103-09", "src/auth/session.ts"]]);
  const none = obs("query", "V004", "exec-102", "--json");
  assert.equal(none.stdout, "[]\n");
  assert.equal(none.code, 0);
  const sql = obs("query", "V001", "--sql");
  assert.match(sql.stdout, /^-- Walk the execution's sequences/);
  assert.match(sql.stdout, /WHERE execution_id = @execution_id/);
  const all = JSON.parse(obs("query", "P002", "--all", "--json").stdout);
  assert.deepEqual(all.map((r: { execution_id: string; instance_id: string }) => [r.execution_id, r.instance_id]), [["exec-103", "agent-103-19"]]);
  const set = JSON.parse(obs("query", "P002", "exec-103", "--set", "silent_ms=3600000", "--json").stdout);
  assert.deepEqual(set, []);
  const badSet = obs("query", "P002", "exec-103", "--set", "nope=1");
  assert.equal(badSet.code, 2);
  assert.match(badSet.stderr, /P002 has no option 'nope'.*silent_ms/s);
  const list = JSON.parse(obs("queries", "--json").stdout);
  assert.equal(list.length, 40);
  assert.deepEqual([...new Set(list.map((q: { family: string }) => q.family))], ["Validation", "Troubleshooting", "Investigation", "Aggregation", "Parallel", "Detection"]);
});

test("an unknown execution is exit 2 with the closest ids; an unambiguous prefix is taken", () => {
  const r = obs("validate", "exec-13");
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /obs: no execution 'exec-13'\n {2}closest: exec-103, /);
  const amb = obs("errors", "exec-10");
  assert.equal(amb.code, 2);
  assert.match(amb.stderr, /execution 'exec-10' is ambiguous/);
  // Among every kind of record, the executions it starts come before their entries.
  const ambShow = obs("show", "exec-10");
  assert.equal(ambShow.code, 2);
  assert.match(ambShow.stderr, /^obs: 'exec-10' is ambiguous: it starts more than 5 ids\n {2}did you mean exec-101 \(execution\), exec-102 \(execution\), exec-103 \(execution\), exec-101:1 \(entry\), exec-101:10 \(entry\), …\?\n$/);
  const prefix = obs("summary", "exec-102", "--json");
  assert.equal(JSON.parse(prefix.stdout).execution_id, "exec-102");
  const short = spawnCli(["trace", "task-103-1", "--db", db]);
  assert.equal(short.code, 2, "task-103-1 starts ten task ids");
  const task = JSON.parse(obs("trace", "task-103-13", "--json").stdout);
  assert.ok(task.length > 20);
  const unknownQuery = obs("query", "X999");
  assert.equal(unknownQuery.code, 2);
  assert.match(unknownQuery.stderr, /no query 'X999'/);
});

test("commands on a database another producer wrote, with tables missing, skip what they cannot run", () => {
  const foreign = path.join(dir, "foreign.db");
  const raw = new Database(foreign);
  raw.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, sequence INTEGER NOT NULL,
            execution_id TEXT NOT NULL, task_id TEXT, instance_id TEXT, wave_number INTEGER, entry_type TEXT NOT NULL,
            category TEXT, summary TEXT, details TEXT, duration_ms INTEGER)`);
  raw.exec(`CREATE TABLE tool_uses (id TEXT PRIMARY KEY, execution_id TEXT, task_id TEXT, transcript_entry_id TEXT, tool TEXT,
            tool_category TEXT, input TEXT, input_summary TEXT, result_status TEXT, output TEXT, output_summary TEXT,
            is_error INTEGER DEFAULT 0, is_blocked INTEGER DEFAULT 0, block_reason TEXT, error_message TEXT,
            start_time TEXT, end_time TEXT, duration_ms INTEGER, within_skill TEXT, parent_tool_use_id TEXT)`);
  raw.prepare(`INSERT INTO transcript_entries VALUES ('e1', '2026-01-16 09:00:00', 1, 'py-run', NULL, 'a1', NULL, 'task_start', 'lifecycle', 'go', 'not json', NULL)`).run();
  raw.prepare(`INSERT INTO transcript_entries VALUES ('e2', '2026-01-16 09:00:05', 3, 'py-run', NULL, 'a1', NULL, 'tool_use', 'tool', 'Read', NULL, NULL)`).run();
  raw.prepare(`INSERT INTO tool_uses (id, execution_id, transcript_entry_id, tool, input, result_status, start_time, end_time, duration_ms)
               VALUES ('t1', 'py-run', 'e2', 'Read', '{"file_path":"a.py"}', 'done', '2026-01-16 09:00:05', '2026-01-16 09:00:06', 1000)`).run();
  raw.close();
  const before = fs.readFileSync(foreign);
  const v = spawnCli(["validate", "py-run", "--db", foreign, "--json"]);
  assert.equal(v.code, 1, v.stderr);
  const checks = JSON.parse(v.stdout).checks;
  assert.deepEqual(checks.find((c: { id: string }) => c.id === "V001").rows.map((r: { issue: string }) => r.issue), ["gap"]);
  assert.match(checks.find((c: { id: string }) => c.id === "V006").skipped, /^no table wave_statistics/);
  const human = spawnCli(["validate", "py-run", "--db", foreign]);
  assert.match(human.stdout, /– V006 Wave task counts {2}skipped: no table wave_statistics/);
  for (const args of [["errors", "py-run"], ["summary", "py-run"], ["waves", "py-run"], ["anomalies", "py-run"], ["trace", "py-run", "--files"], ["ls"], ["compare"]]) {
    const r = spawnCli([...args, "--db", foreign]);
    assert.ok(r.code === 0 || r.code === 1, `${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr + r.stdout, /internal error|SqliteError|at .*\.js:\d+/, args.join(" "));
  }
  assert.match(spawnCli(["trace", "py-run", "--files", "--db", foreign]).stdout, /a\.py/);
  const q = spawnCli(["query", "P001", "py-run", "--db", foreign, "--json"]);
  assert.equal(q.stdout, "[]\n");
  assert.match(q.stderr, /P001 skipped: no table parallel_execution_waves/);
  assert.deepEqual(fs.readFileSync(foreign), before, "read-only commands leave the file as it was");
});

test("validate --all on many executions (worker threads) agrees with validating each alone", async () => {
  const { cleanRun, line } = await import("./query-helpers.js");
  const many = path.join(dir, "many-runs.db");
  const lines = Array.from({ length: 9 }, (_, i) => cleanRun(`run-${i}`, "tl", i * 100)).flat();
  // One of them leaks a lock.
  lines.push(line("run-4", 430, "transcript:entry", { entry_type: "lock_acquire", category: "c", summary: "l", instance_id: "x", details: { file_path: "f", state: "acquired" } }));
  assert.equal(spawnCli(["ingest", "-", "--db", many], { input: lines.map((l) => JSON.stringify(l)).join("\n") }).code, 0);
  const all = spawnCli(["validate", "--all", "--json", "--db", many]);
  assert.equal(all.code, 1, all.stderr);
  const verdicts = JSON.parse(all.stdout) as { execution_id: string; ok: boolean }[];
  assert.equal(verdicts.length, 9);
  for (const v of verdicts) {
    const alone = JSON.parse(spawnCli(["validate", v.execution_id, "--json", "--db", many]).stdout);
    assert.deepEqual(v, alone, v.execution_id);
  }
  assert.deepEqual(verdicts.filter((v) => !v.ok).map((v) => v.execution_id), ["run-4"]);
});

test("tail's header counts tokens as ls's TOKENS (ALL) and summary do: every kind, cache reads and writes too", () => {
  const ls = JSON.parse(spawnCli(["ls", "--json", "--db", db]).stdout) as { execution_id: string; total_tokens: number }[];
  const want = ls.find((r) => r.execution_id === "exec-103")!.total_tokens;
  const conn = openReadOnly(db);
  try {
    assert.equal(readSnapshot(conn, "exec-103", "2026-11-21T00:00:00.000Z").header.tokens, want);
  } finally {
    conn.close();
  }
});

test("errors: a root cause's message of several lines reads as one indented paragraph, and one error after it is '1 more error'", async () => {
  const { dbWith, line } = await import("./query-helpers.js");
  const db = await dbWith([
    line("e", 0, "execution:status", { status: "running" }),
    line("e", 1, "tool:start", { tool_use_id: "t1", tool: "Bash", input: { command: "rg foo" } }),
    line("e", 2, "tool:end", { tool_use_id: "t1", is_error: true, output: "rg: first problem\nrg: second problem\n\n  and a third" }),
    line("e", 3, "tool:start", { tool_use_id: "t2", tool: "Bash", input: { command: "rg bar" } }),
    line("e", 4, "tool:end", { tool_use_id: "t2", is_error: true, output: "rg: again" }),
  ]);
  const r = spawnCli(["errors", "e", "--db", db], { env: { COLUMNS: "100" } });
  assert.equal(r.code, 1, r.stderr);
  const head = r.stdout.split("\n\n")[0]!;
  assert.match(head, /followed by 1 more error within/);
  assert.doesNotMatch(head, /more errors/);
  for (const l of head.split("\n").slice(1)) assert.match(l, /^(Root cause| {2}\S)/, `'${l}' is not part of the indented paragraph`);
  assert.match(head, /^ {2}.*rg: first problem rg: second problem and a third/m);
});
