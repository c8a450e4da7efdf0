/**
 * How every command takes the ids a user types: one rule — an exact id of any kind first, then
 * the one id it starts, else "ambiguous" with the candidates — checked on real records where a
 * run's id starts its tasks' ids (Claude Code subagents, `claude -p` stream-json runs); an id of
 * another execution named with an execution; and empty ids and flag values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, ROOT, spawnCli, tmpDir } from "./helpers.js";
import { dbWith, line } from "./query-helpers.js";

const FIXTURES = path.join(ROOT, "test", "fixtures");
/** A Claude Code session with three subagents, whose compaction agent's task id starts with the session id. */
const SESSION = "fa812bfe-b295-4cca-9c2f-fdf01028cb46";
/** A `claude -p` stream-json run with one subagent; its one main task's id starts with the run's. */
const STREAM = "a0122a74-998a-46ef-8793-308559460bb6";
const STREAM_FILE = path.join(FIXTURES, "claude-stream-json", "HamzaAlayed-laravel-claude-agents", "stream-json-subagent.jsonl");

let ingested: string | undefined;
/** The Claude Code and stream-json fixtures ingested once into a database of this test file. */
function fixturesDb(): string {
  if (ingested) return ingested;
  const db = path.join(tmpDir(), "obs.db");
  const r = spawnCli(["ingest", path.join(FIXTURES, "claude-code"), path.join(FIXTURES, "claude-stream-json"), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  return (ingested = db);
}

type RunTrace = { execution_id: string; view: string; agents: { instance_id: string; tasks: { task_id: string }[] }[] };

test("obs trace with a run's exact id traces the whole run, though the id starts one of its tasks' ids", () => {
  const db = fixturesDb();
  // The session's agents, from its files: the session itself and one per subagents/agent-<id>.jsonl.
  const subagents = fs.readdirSync(path.join(FIXTURES, "claude-code", "marot-spotter", SESSION, "subagents"))
    .filter((f) => /^agent-.*\.jsonl$/.test(f))
    .map((f) => `${SESSION}/${f.slice("agent-".length, -".jsonl".length)}`);
  assert.equal(subagents.length, 3);
  // What makes the exact id matter: exactly one task id starts with the session's id.
  assert.equal(all(db, `SELECT id FROM tasks WHERE id LIKE ? || '%'`, SESSION).length, 1);
  const r = spawnCli(["trace", SESSION, "--json", "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  const run = JSON.parse(r.stdout) as RunTrace;
  assert.equal(run.execution_id, SESSION);
  assert.equal(run.view, "agents");
  assert.deepEqual(run.agents.map((a) => a.instance_id).sort(), [`${SESSION}/main`, ...subagents].sort());
  const text = spawnCli(["trace", SESSION, "--db", db]);
  assert.match(text.stdout.split("\n")[0]!, new RegExp(`^Run ${SESSION} by agent \\(4 agents\\)`));

  // The stream-json run: the subagent's work (its lines name the Task call that started it) is in the trace.
  const lines = fs.readFileSync(STREAM_FILE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { parent_tool_use_id?: string | null });
  const taskCalls = [...new Set(lines.map((l) => l.parent_tool_use_id).filter((x): x is string => typeof x === "string"))];
  assert.equal(taskCalls.length, 1);
  const s = spawnCli(["trace", STREAM, "--json", "--db", db]);
  assert.equal(s.code, 0, s.stderr);
  const stream = JSON.parse(s.stdout) as RunTrace;
  assert.equal(stream.execution_id, STREAM);
  assert.equal(stream.agents.length, 2, "the main agent and its subagent");
  assert.ok(stream.agents.some((a) => a.tasks.some((t) => t.task_id === taskCalls[0])), "the subagent's task is traced too");
});

test("obs trace: an exact task id or a unique prefix of one traces the task; a prefix of a run and its own task is the run", () => {
  const db = fixturesDb();
  const [main] = all(db, `SELECT id FROM tasks WHERE execution_id = ? AND id LIKE ? || '/%'`, STREAM, STREAM).map((r) => r.id as string);
  assert.ok(main);
  for (const given of [main, main.slice(0, STREAM.length + 6)]) {
    const r = spawnCli(["trace", given, "--json", "--db", db]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { task_id: string; execution_id: string }[];
    assert.ok(Array.isArray(rows) && rows.length > 0, `${given}: a task's timeline`);
    assert.ok(rows.every((x) => x.task_id === main && x.execution_id === STREAM));
  }
  // The subagent's task, by a prefix of its Task call's id that starts nothing else.
  const sub = spawnCli(["trace", "toolu_01WH5", "--json", "--db", db]);
  assert.equal(sub.code, 0, sub.stderr);
  assert.ok((JSON.parse(sub.stdout) as { task_id: string }[]).every((x) => x.task_id === "toolu_01WH5oCebDzRZ5aPkFGU1khi"));

  // A prefix of the run and of its own task is the run (every id it starts is the run's).
  const short = spawnCli(["trace", STREAM.slice(0, 8), "--json", "--db", db]);
  assert.equal(short.code, 0, short.stderr);
  assert.equal((JSON.parse(short.stdout) as RunTrace).execution_id, STREAM);
  const none = spawnCli(["trace", "no-such-id", "--db", db]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^obs: no task or execution 'no-such-id'\n {2}closest: /);
});

test("show, errors, validate and summary take a run's exact id as the run, and a prefix of it as the run", () => {
  const db = fixturesDb();
  const show = spawnCli(["show", SESSION, "--json", "--db", db]);
  assert.equal(show.code, 0, show.stderr);
  assert.deepEqual([JSON.parse(show.stdout).kind, JSON.parse(show.stdout).id], ["execution", SESSION]);
  // A prefix that starts the run and only the ids of its own agents and tasks is the run.
  const short = spawnCli(["show", SESSION.slice(0, 8), "--json", "--db", db]);
  assert.equal(short.code, 0, short.stderr);
  assert.deepEqual([JSON.parse(short.stdout).kind, JSON.parse(short.stdout).id], ["execution", SESSION]);
  for (const given of [SESSION, SESSION.slice(0, 8)]) {
    for (const cmd of ["errors", "validate", "summary"]) {
      const r = spawnCli([cmd, given, "--json", "--db", db]);
      assert.ok(r.code === 0 || r.code === 1, `${cmd} ${given}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).execution_id, SESSION, `${cmd} ${given}`);
    }
  }
  // errors --task takes tasks only: the run's id is the prefix of one task, which it names.
  const task = spawnCli(["errors", "--task", SESSION, "--json", "--db", db]);
  assert.ok(task.code === 0 || task.code === 1, task.stderr);
  assert.equal(JSON.parse(task.stdout).task_id, `${SESSION}/agent-acompact-70d8e7`);
});

test("errors EXEC --task: a task of another execution is refused in one line naming both; suggestions are the execution's own tasks", () => {
  const dir = tmpDir();
  const db = path.join(dir, "demo.db");
  assert.equal(spawnCli(["demo", "--db", db]).code, 0);
  const own = new Set(all(db, `SELECT id FROM tasks WHERE execution_id = 'exec-103'`).map((r) => r.id as string));
  assert.ok(own.size > 3);
  assert.equal(all(db, `SELECT execution_id FROM tasks WHERE id = 'task-102-01'`)[0]?.execution_id, "exec-102");

  const other = spawnCli(["errors", "exec-103", "--task", "task-102-01", "--db", db]);
  assert.equal(other.code, 2);
  assert.equal(other.stdout, "");
  assert.equal(other.stderr, "obs: task 'task-102-01' belongs to execution exec-102, not exec-103\n");
  // A unique prefix of another execution's task is the same mistake.
  assert.equal(spawnCli(["errors", "exec-103", "--task", "task-102-0", "--db", db]).code, 2, "task-102-0 starts several: no task of exec-103");
  const tail = spawnCli(["tail", "exec-103", "--task", "task-102-01", "--db", db]);
  assert.equal(tail.code, 2);
  assert.equal(tail.stderr, "obs: task 'task-102-01' belongs to execution exec-102, not exec-103\n");

  const nope = spawnCli(["errors", "exec-103", "--task", "nope", "--db", db]);
  assert.equal(nope.code, 2);
  const m = /^obs: no task 'nope' in exec-103\n {2}closest in exec-103: (.+)\n$/.exec(nope.stderr);
  assert.ok(m, nope.stderr);
  const suggested = m[1]!.split(", ");
  assert.equal(suggested.length, 3);
  assert.ok(suggested.every((t) => own.has(t)), `${suggested} are exec-103's`);

  // The task of the execution named, and a task alone (no execution), still answer.
  const mine = spawnCli(["errors", "exec-103", "--task", "task-103-07", "--json", "--db", db]);
  assert.ok(mine.code === 0 || mine.code === 1, mine.stderr);
  assert.equal(JSON.parse(mine.stdout).task_id, "task-103-07");
  const alone = spawnCli(["errors", "--task", "task-102-01", "--json", "--db", db]);
  assert.ok(alone.code === 0 || alone.code === 1, alone.stderr);
  assert.equal(JSON.parse(alone.stdout).task_id, "task-102-01");
});

test("an empty id or flag value is a usage error naming it (exit 2), never a prefix of every id nor the default", () => {
  const dir = tmpDir();
  // A database where the defaults would find one: ./obs.db in the working directory.
  assert.equal(spawnCli(["demo"], { cwd: dir }).code, 0);
  const files = () => fs.readdirSync(dir).sort();
  const before = files();
  const cases: [string[], RegExp][] = [
    [["show", ""], /^obs: the <id> argument is empty: give it a value\n/],
    [["validate", ""], /^obs: one of the \[exec\.\.\.\] arguments is empty: give each a value, or leave it out\n/],
    [["validate", "exec-103", ""], /^obs: one of the \[exec\.\.\.\] arguments is empty/],
    [["summary", ""], /^obs: the \[exec\] argument is empty/],
    [["errors", ""], /^obs: the \[exec\] argument is empty/],
    [["trace", ""], /^obs: the \[id\] argument is empty/],
    [["errors", "exec-103", "--task", ""], /^obs: --task is empty: give it a value, or leave it out\n {2}--task <task>: /],
    [["trace", "--exec", ""], /^obs: --exec is empty/],
    [["ls", "--db", ""], /^obs: --db is empty: give it a value, or leave it out\n {2}--db <path>: database file/],
    [["--db", "", "ls"], /^obs: --db is empty/],
    [["ls", "--db="], /^obs: --db is empty/],
    [["ingest", "--db", ""], /^obs: --db is empty/],
    [["usage", "--tz", ""], /^obs: --tz is empty: give it a value, or leave it out\n {2}--tz <zone>: /],
    [["serve", "--host", ""], /^obs: --host is empty/],
  ];
  for (const [args, message] of cases) {
    const r = spawnCli(args, { cwd: dir });
    assert.equal(r.code, 2, `${JSON.stringify(args)}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, "", JSON.stringify(args));
    assert.match(r.stderr, message, JSON.stringify(args));
  }
  assert.deepEqual(files(), before, "nothing written beside the database");
  // The same commands with values answer.
  assert.equal(spawnCli(["usage", "--tz", "UTC"], { cwd: dir }).code, 0);
  assert.equal(spawnCli(["ls", "--db", "obs.db"], { cwd: dir }).code, 0);
});

/** Runs of a Codex rollout, a Gemini CLI session and a Claude Code session, each of whose short id starts ids of its own records. */
const OWN = [
  ["codex", "019b7f94-51b4-7593-922e-ba12b5b73b52"],
  ["gemini-cli", "5b959dae-8655-4cd1-b10f-720b8c336ea2"],
  ["claude-code", "5c0375b4-57a5-4f26-b12d-d022ee4e51b7"],
] as const;

test("the short id obs ls shows (8 characters) names a Codex, Gemini CLI or Claude Code run in every command, though it starts its records' ids too", () => {
  const db = path.join(tmpDir(), "obs.db");
  const r = spawnCli(["ingest", ...OWN.map(([dir]) => path.join(FIXTURES, dir)), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  for (const [, run] of OWN) {
    const short = run.slice(0, 8);
    // What made it ambiguous: the prefix starts ids of the run's own tasks, agents or model calls, and no other run's.
    const others = ["tasks", "build_agent_instances", "llm_calls"].flatMap((t) => all(db, `SELECT id, execution_id FROM ${t} WHERE id LIKE ? || '%'`, short));
    assert.ok(others.length > 0, `${short} starts ids besides the run's`);
    assert.ok(others.every((o) => o.execution_id === run), `${short}: they are all the run's`);
    assert.equal(all(db, `SELECT id FROM task_list_execution_runs WHERE id LIKE ? || '%'`, short).length, 1);

    const trace = spawnCli(["trace", short, "--json", "--db", db]);
    assert.equal(trace.code, 0, `trace ${short}: ${trace.stderr}`);
    assert.equal((JSON.parse(trace.stdout) as RunTrace).execution_id, run);
    const text = spawnCli(["trace", short, "--db", db]);
    assert.match(text.stdout, new RegExp(`^Run ${run} `), `trace ${short}`);
    const show = spawnCli(["show", short, "--json", "--db", db]);
    assert.equal(show.code, 0, `show ${short}: ${show.stderr}`);
    assert.deepEqual([JSON.parse(show.stdout).kind, JSON.parse(show.stdout).id], ["execution", run]);
    assert.match(spawnCli(["show", short, "--db", db]).stdout, new RegExp(`^Execution ${run}\n`));
    for (const cmd of ["validate", "errors", "summary"]) {
      const x = spawnCli([cmd, short, "--json", "--db", db]);
      assert.ok(x.code === 0 || x.code === 1, `${cmd} ${short}: ${x.stderr}`);
      assert.equal(JSON.parse(x.stdout).execution_id, run, `${cmd} ${short}`);
    }
  }
  // A prefix of several of these runs (019 starts the Codex runs and one Claude Code session) is ambiguous, naming each kind.
  const amb = spawnCli(["trace", "019", "--db", db]);
  assert.equal(amb.code, 2);
  assert.match(amb.stderr, /^obs: '019' is ambiguous: it starts more than 5 ids\n {2}did you mean (019[0-9a-f-]+ \(execution\), ){4}01996135-afde-7911-97f0-d863511eca56\/turn@4 \(task\), …\?\n$/);
});

test("a prefix of one run and its own records is the run; of two runs, or of a run and another run's record, ambiguous; an exact id wins", async () => {
  const run = (exec: string, tasks: string[], s: number) => [
    line(exec, s, "execution:status", { status: "started", task_list_id: `tl-${exec}` }),
    ...tasks.map((t, i) => line(exec, s + i + 1, "task:status", { task_id: t, status: "completed", title: `work ${t}` })),
    line(exec, s + 9, "execution:status", { status: "completed" }),
  ];
  const db = await dbWith([
    ...run("run-a", ["run-a/t1", "run-a/t2"], 0), ...run("run-b", ["run-b/t1"], 10),
    // job-x-extra starts with job-x, and is another run's task.
    ...run("job-x", ["job-x/t1"], 20), ...run("other", ["job-x-extra"], 30),
    ...run("solo", ["solo/t1"], 40),
    // t-9 is a task exactly, and a prefix of a run and its task.
    ...run("t-9-run", ["t-9-run/a"], 50), ...run("z", ["t-9"], 60),
  ]);
  // What was traced, by the heading: "Trace of <task>" or "Run <execution>".
  const traced = (id: string) => {
    const r = spawnCli(["trace", id, "--db", db]);
    assert.equal(r.code, 0, `${id}: ${r.stderr}`);
    const m = /^(?:Trace of (\S+)|Run (\S+))/.exec(r.stdout);
    assert.ok(m, r.stdout);
    return m[1] ? `task ${m[1]}` : `run ${m[2]}`;
  };
  const shown = (id: string) => {
    const r = spawnCli(["show", id, "--json", "--db", db]);
    assert.equal(r.code, 0, `show ${id}: ${r.stderr}`);
    return `${JSON.parse(r.stdout).kind} ${JSON.parse(r.stdout).id}`;
  };
  const refused = (args: string[]) => {
    const r = spawnCli([...args, "--db", db]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
    assert.equal(r.stdout, "");
    return r.stderr;
  };
  // One run and its own tasks.
  assert.equal(traced("sol"), "run solo");
  assert.equal(shown("sol"), "execution solo");
  assert.equal(traced("run-a"), "run run-a", "exact");
  assert.equal(traced("run-a/t1"), "task run-a/t1", "exact");
  assert.equal(traced("run-a/t2"), "task run-a/t2");
  // Two runs.
  assert.equal(refused(["trace", "run-"]), "obs: 'run-' is ambiguous: it starts 5 ids\n  did you mean run-a (execution), run-b (execution), run-a/t1 (task), run-a/t2 (task), run-b/t1 (task)?\n");
  assert.match(refused(["show", "run-"]), /^obs: 'run-' is ambiguous: it starts 5 ids\n {2}did you mean run-a \(execution\), run-b \(execution\), run-a\/t1 \(task\), run-a\/t2 \(task\), run-b\/t1 \(task\)\?\n$/);
  // Tasks alone, of one kind: named without it.
  assert.equal(refused(["trace", "run-a/"]), "obs: 'run-a/' is ambiguous: it starts 2 ids\n  did you mean run-a/t1, run-a/t2?\n");
  // A run and a task of another run.
  assert.equal(refused(["trace", "job-"]), "obs: 'job-' is ambiguous: it starts 3 ids\n  did you mean job-x (execution), job-x-extra (task), job-x/t1 (task)?\n");
  assert.equal(refused(["show", "job-"]), "obs: 'job-' is ambiguous: it starts 3 ids\n  did you mean job-x (execution), job-x-extra (task), job-x/t1 (task)?\n");
  assert.equal(traced("job-x"), "run job-x", "exact, though it starts another run's task");
  assert.equal(shown("job-x"), "execution job-x");
  assert.equal(traced("job-x-"), "task job-x-extra");
  // An exact task id wins over the run (and its task) it is a prefix of.
  assert.equal(traced("t-9"), "task t-9");
  assert.equal(shown("t-9"), "task t-9");
  assert.equal(traced("t-9-"), "run t-9-run");
  // Where only a task is asked for, the run is no candidate: the prefix is its one task.
  const task = spawnCli(["errors", "--task", "sol", "--json", "--db", db]);
  assert.ok(task.code === 0 || task.code === 1, task.stderr);
  assert.equal(JSON.parse(task.stdout).task_id, "solo/t1");
});
