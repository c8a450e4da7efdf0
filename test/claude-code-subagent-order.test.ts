/**
 * A Claude Code 2.x subagent's file (<session>/subagents/agent-<id>.jsonl) is linked to the Task
 * call that started it by the parent session's lines: the Task result naming its agent
 * (toolUseResult.agentId), or while it still works the progress lines echoing it. During a run
 * the subagent's file is there before that result: read then, its work goes under a task of its
 * own (`<session>/agent-<id>`) until the parent's result says whose it is. Whatever the order
 * the files are read in, the end is the same: what the subagent did is under its Task call, its
 * agent of the Task call's type, and no task of its own is left.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { all, BIN, cli, events, ingestLines, ROOT, tmpDb, tmpDir } from "./helpers.js";

const FIXTURES = path.join(ROOT, "test", "fixtures", "claude-code", "marot-spotter");
const SESSION = "fa812bfe-b295-4cca-9c2f-fdf01028cb46";
const PARENT = fs.readFileSync(path.join(FIXTURES, `${SESSION}.jsonl`), "utf8").split("\n").filter((l) => l !== "");
// Line 44 is the first subagent's Task call (a93ccab), 45–96 its progress lines, 97 its result;
// the second's (aa84377) call is line 691, its result line 736.
const TASK_CALL = 44;
const FIRST_RESULT = 97;
const SUBAGENTS = fs.readdirSync(path.join(FIXTURES, SESSION, "subagents"));

interface Layout {
  dir: string;
  project: string;
  parent: string;
  subagents: string;
  db: string;
  /** Writes the parent's first `lines` lines (all of them without). */
  parentUpTo(lines?: number): void;
  subagent(id: string): string;
}

/** The session and its subagents' files under a project folder of a temporary directory. */
function layout(): Layout {
  const dir = tmpDir();
  const project = path.join(dir, "proj");
  const subagents = path.join(project, SESSION, "subagents");
  fs.mkdirSync(subagents, { recursive: true });
  for (const f of SUBAGENTS) fs.copyFileSync(path.join(FIXTURES, SESSION, "subagents", f), path.join(subagents, f));
  const parent = path.join(project, `${SESSION}.jsonl`);
  return {
    dir, project, parent, subagents, db: path.join(dir, "obs.db"),
    parentUpTo: (lines = PARENT.length) => fs.writeFileSync(parent, PARENT.slice(0, lines).join("\n") + "\n"),
    subagent: (id) => path.join(subagents, `agent-${id}.jsonl`),
  };
}

async function ingest(l: Layout, ...sources: string[]): Promise<void> {
  for (const s of sources) {
    const r = await cli(["ingest", s, "--db", l.db]);
    assert.equal(r.code, 0, r.stderr);
  }
}

/** Which task each thing is under, and what its agents are. */
function links(db: string): Record<string, string[]> {
  const q = (sql: string) => all(db, sql).map((r) => JSON.stringify(Object.values(r)));
  return {
    tool_uses: q(`SELECT id, task_id, parent_tool_use_id FROM tool_uses ORDER BY id`),
    transcript_entries: q(`SELECT id, task_id, instance_id FROM transcript_entries ORDER BY id`),
    llm_calls: q(`SELECT id, task_id, instance_id FROM llm_calls ORDER BY id`),
    agents: q(`SELECT id, task_id, agent_type, status FROM build_agent_instances ORDER BY id`),
    // What each agent's heartbeats say it worked (a file read while it grew also left a
    // "completed" heartbeat at the end it had then).
    heartbeats: q(`SELECT DISTINCT instance_id, current_task_id FROM agent_heartbeats ORDER BY 1, 2`),
    tasks: q(`SELECT id, title, display_id, status FROM tasks ORDER BY id`),
  };
}

/** The parent read whole before its subagents' files. */
async function reference(): Promise<Record<string, string[]>> {
  const l = layout();
  l.parentUpTo();
  await ingest(l, l.parent, l.subagents);
  const r = links(l.db);
  const linked = all(l.db, `SELECT id, task_id, agent_type FROM build_agent_instances WHERE id LIKE '%/a93ccab' OR id LIKE '%/aa84377' ORDER BY id`);
  assert.deepEqual(linked.map((a) => ({ ...a })), [
    { id: `${SESSION}/a93ccab`, task_id: "toolu_01Y64XEaRvUYinzv9rW9qZXd", agent_type: "Explore" },
    { id: `${SESSION}/aa84377`, task_id: "toolu_013mmyY3eDBg4Ji6oAszYt6p", agent_type: "Explore" },
  ]);
  assert.ok(r.tool_uses!.length > 200 && r.tasks!.some((t) => t.includes("/agent-acompact")), "the compaction run keeps its own task");
  return r;
}

const strays = (db: string) => all(db, `SELECT id FROM tasks WHERE id LIKE '%/agent-a93ccab' OR id LIKE '%/agent-aa84377'`).length;

test("the subagents' files read before their parent's (which has the results) give the rows of the parent read first", async () => {
  const want = await reference();
  const l = layout();
  l.parentUpTo();
  await ingest(l, l.subagents, l.parent);
  assert.deepEqual(links(l.db), want);
});

test("a subagent's files read while the parent had neither a result nor progress for them, then the parent with its results: the rows of the parent read first", async () => {
  const want = await reference();
  const l = layout();
  l.parentUpTo(TASK_CALL);
  await ingest(l, l.parent, l.subagents);
  assert.equal(strays(l.db), 2, "read before their parent says whose they are, the subagents work tasks of their own");
  l.parentUpTo();
  await ingest(l, l.parent);
  assert.equal(strays(l.db), 0);
  assert.deepEqual(links(l.db), want);
});

test("one subagent's file alone first (its parent without its result), then only the parent: the rows of the parent read first, the other subagents after", async () => {
  const want = await reference();
  const l = layout();
  l.parentUpTo(TASK_CALL);
  await ingest(l, l.subagent("a93ccab"));
  assert.equal(strays(l.db), 1);
  l.parentUpTo();
  await ingest(l, l.parent, l.subagents);
  assert.deepEqual(links(l.db), want);
});

test("a folder ingested while the first subagent works (its progress echoed, no result) and again once the parent has its results", async () => {
  const want = await reference();
  const l = layout();
  l.parentUpTo(FIRST_RESULT - 1);
  await ingest(l, l.project);
  // Its progress lines already say which call it works; the second subagent's call is not written yet.
  assert.deepEqual(all(l.db, `SELECT id FROM tasks WHERE id LIKE '%/agent-a%' ORDER BY id`).map((r) => r.id), [`${SESSION}/agent-aa84377`, `${SESSION}/agent-acompact-70d8e7`]);
  assert.equal(all(l.db, `SELECT task_id FROM build_agent_instances WHERE id = ?`, `${SESSION}/a93ccab`)[0]?.task_id, "toolu_01Y64XEaRvUYinzv9rW9qZXd");
  l.parentUpTo();
  await ingest(l, l.project);
  assert.deepEqual(links(l.db), want);
});

test("followed while it runs: the subagent's file grows before and after its parent's result lands, and ends under its Task call", async (t) => {
  const want = await reference();
  const l = layout();
  const sub = l.subagent("a93ccab");
  const subLines = fs.readFileSync(sub, "utf8").split("\n").filter((x) => x !== "");
  l.parentUpTo(TASK_CALL);
  fs.writeFileSync(sub, subLines.slice(0, 40).join("\n") + "\n");
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", l.project, "--db", l.db], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  const until = async (what: string, ok: () => boolean) => {
    for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      try {
        if (ok()) return;
      } catch {
        /* the follower has not created its tables yet */
      }
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const toolsOf = (agent: string) => all(l.db, `SELECT COUNT(*) AS n FROM tool_uses t JOIN transcript_entries e ON e.id = t.transcript_entry_id WHERE e.instance_id = ?`, `${SESSION}/${agent}`)[0]?.n;
  await until("the subagent's first lines", () => strays(l.db) === 2 && Number(toolsOf("a93ccab")) > 0);
  l.parentUpTo();
  await until("the parent's results", () => strays(l.db) === 0);
  // The subagent's last lines come after: its file is read again, knowing its Task call.
  fs.appendFileSync(sub, subLines.slice(40).join("\n") + "\n");
  const all_ = want.tool_uses!.length;
  await until("the subagent's last lines", () => all(l.db, `SELECT COUNT(*) AS n FROM tool_uses`)[0]?.n === all_);
  child.kill("SIGINT");
  assert.equal(await new Promise((r) => child.on("exit", r)), 0);
  assert.equal(strays(l.db), 0);
  assert.deepEqual(links(l.db), want);
});

test("task:status with replaces moves a provisional task's work to it and removes it; other executions' and missing tasks are left alone", async () => {
  const db = tmpDb();
  const a = events("exec-a");
  const b = events("exec-b");
  await ingestLines(db, [
    a.ev("task:status", { task_id: "later-known", status: "running", title: "subagent x", display_id: "subagent" }),
    a.ev("agent:heartbeat", { instance_id: "agent-x", status: "working", current_task_id: "later-known", agent_type: "subagent" }),
    a.ev("tool:start", { tool_use_id: "read-1", tool: "Read", input: { file_path: "a" }, task_id: "later-known", parent_tool_use_id: "later-known", instance_id: "agent-x" }),
    a.ev("tool:end", { tool_use_id: "read-1", is_error: false, output: "x" }),
    a.ev("transcript:entry", { entry_type: "discovery", category: "assistant", summary: "found it", task_id: "later-known", instance_id: "agent-x", entry_id: "note-1" }),
    a.ev("llm:call", { id: "call-1", model: "claude-sonnet-4-5", input_tokens: 1, output_tokens: 2, task_id: "later-known", instance_id: "agent-x" }),
    a.ev("agent:heartbeat", { instance_id: "agent-x", status: "completed", current_task_id: "later-known", agent_type: "subagent" }),
    b.ev("task:status", { task_id: "later-known", status: "running" }),
    b.ev("tool:start", { tool_use_id: "read-2", tool: "Read", input: { file_path: "b" }, task_id: "later-known" }),
  ]);
  await ingestLines(db, [
    a.ev("tool:start", { tool_use_id: "spawn", tool: "Task", input: { prompt: "look" } }),
    a.ev("task:status", { task_id: "spawn", status: "running", title: "look around" }),
    a.ev("task:status", { task_id: "spawn", status: "completed", replaces: "later-known", agent_type: "Explore" }),
    // Nothing to replace: no such task, or the task itself.
    a.ev("task:status", { task_id: "spawn", status: "completed", replaces: "never-written" }),
    a.ev("task:status", { task_id: "spawn", status: "completed", replaces: "spawn" }),
  ]);
  const one = (sql: string, ...p: unknown[]) => all(db, sql, ...p).map((r) => ({ ...r }));
  assert.deepEqual(one(`SELECT id, execution_id, title, status FROM tasks ORDER BY execution_id, id`), [
    { id: "spawn", execution_id: "exec-a", title: "look around", status: "completed" },
    { id: "later-known@exec-b", execution_id: "exec-b", title: null, status: "running" },
  ]);
  assert.deepEqual(one(`SELECT id, task_id, parent_tool_use_id FROM tool_uses ORDER BY id`), [
    { id: "read-1", task_id: "spawn", parent_tool_use_id: "spawn" },
    { id: "read-2", task_id: "later-known@exec-b", parent_tool_use_id: null },
    { id: "spawn", task_id: null, parent_tool_use_id: null },
  ]);
  assert.deepEqual(one(`SELECT task_id FROM transcript_entries WHERE id = 'note-1'`), [{ task_id: "spawn" }]);
  assert.deepEqual(one(`SELECT task_id FROM llm_calls WHERE id = 'call-1'`), [{ task_id: "spawn" }]);
  assert.deepEqual(one(`SELECT id, task_id, agent_type FROM build_agent_instances`), [{ id: "agent-x", task_id: "spawn", agent_type: "Explore" }]);
  assert.deepEqual(one(`SELECT DISTINCT current_task_id FROM agent_heartbeats`), [{ current_task_id: "spawn" }]);
  // A replaces that is no id is refused like any field of the wrong type.
  const file = path.join(tmpDir(), "bad.jsonl");
  fs.writeFileSync(file, JSON.stringify(a.ev("task:status", { task_id: "spawn", status: "completed", replaces: 7 })) + "\n");
  const bad = await cli(["ingest", file, "--db", db]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.jsonl:1: task:status: replaces must be a string, got number 7/);
});
