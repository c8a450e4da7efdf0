/**
 * Real, unmodified Claude Code sessions, kept in test/fixtures/claude-code (others' files, copied
 * byte for byte; SOURCES.md says where from). The expected counts were made independently of obs, by a short
 * script over the raw JSONL: tool_use and tool_result blocks in each line's message.content
 * (progress lines, which echo subagents' messages, left out), output tokens as the largest
 * value per message.id (a streamed response repeats its usage, growing) — progress lines'
 * echoed responses included once, by message.id — and subagents as the sidechain
 * conversations' roots (1.x), the files under <session>/subagents/ (2.x), or the agentIds of
 * progress lines whose subagent has no file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, cli, one, ROOT, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const FIXTURES = path.join(ROOT, "test", "fixtures", "claude-code");

interface Expected {
  project: string;
  tools: number;
  failed: number;
  unfinished: number;
  responses: number;
  output: number;
  agents: number;
}
const SESSIONS: Record<string, Expected> = {
  "1af7fc5e-8455-4414-9ccd-011d40f70b2a": { project: "claude-code-viewer", tools: 12, failed: 1, unfinished: 0, responses: 7, output: 953, agents: 1 },
  "5c0375b4-57a5-4f26-b12d-d022ee4e51b7": { project: "claude-code-viewer", tools: 21, failed: 3, unfinished: 0, responses: 20, output: 3629, agents: 3 },
  "fe5e1c67-53e7-4862-81ae-d0e013e3270b": { project: "claude-code-viewer", tools: 167, failed: 23, unfinished: 0, responses: 170, output: 51933, agents: 6 },
  // With its three subagent files: 197 + 25 + 21 tool calls, 157 + 11 + 9 + 1 responses.
  "fa812bfe-b295-4cca-9c2f-fdf01028cb46": { project: "marot-spotter", tools: 243, failed: 8, unfinished: 0, responses: 178, output: 36307, agents: 4 },
  "55604662-cf2a-4331-851a-ec234028f8ca": { project: "marot-spotter", tools: 2, failed: 2, unfinished: 0, responses: 1, output: 13, agents: 1 },
  // Its subagent's file is absent: the subagent's 5 responses (7 output tokens, as far as they had
  // streamed) are known only from the progress lines echoing them, and its agent from theirs.
  "491e126e-1e71-469c-ade2-fcc8af567c74": { project: "marot-spotter", tools: 16, failed: 0, unfinished: 0, responses: 17, output: 1593, agents: 2 },
  "d6e0bada-1959-4eec-a9d2-0bfade768d8f": { project: "marot-spotter", tools: 6, failed: 0, unfinished: 0, responses: 4, output: 212, agents: 1 },
  "d3ad4cdc-5657-435d-98fa-0035d53e383d": { project: "sniffly", tools: 59, failed: 4, unfinished: 1, responses: 62, output: 16769, agents: 1 },
  "fed8ce56-bc79-401f-a83e-af084253362f": { project: "sniffly", tools: 7, failed: 2, unfinished: 0, responses: 4, output: 278, agents: 1 },
};

test("every fixture session is ingested with the independently counted tool calls, failures, tokens and subagents", async () => {
  const db = tmpDb();
  const r = await cli(["ingest", FIXTURES, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ingested 13 sources: 2,939 lines/);
  assert.match(r.stderr, /ff71dbed-a4f2-4284-a4fc-fe2fb90de929\.jsonl: no session id in it \(summary lines only\)/);
  for (const [id, e] of Object.entries(SESSIONS)) {
    const got = one(db, `
      SELECT (SELECT task_list_id FROM task_list_execution_runs WHERE id = @id) AS project,
             (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id) AS tools,
             (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id AND is_error = 1) AS failed,
             (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id AND result_status IS NULL) AS unfinished,
             (SELECT COUNT(*) FROM llm_calls WHERE execution_id = @id) AS responses,
             (SELECT SUM(output_tokens) FROM llm_calls WHERE execution_id = @id) AS output,
             (SELECT COUNT(*) FROM build_agent_instances WHERE execution_id = @id) AS agents`, { id });
    assert.deepEqual({ ...got }, e, id);
  }
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs`)?.n, 9);
  // Nothing of the format is a defect: line order is not time order, and validation agrees.
  const v = await cli(["validate", "--all", "--json", "--db", db]);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
  const checks = JSON.parse(v.stdout) as { execution_id: string; checks: { id: string; count: number }[] }[];
  assert.equal(checks.length, 9);
});

test("a session's cwd and git branch are kept; subagents work the Task call that spawned them", async () => {
  const db = tmpDb();
  await cli(["ingest", path.join(FIXTURES, "marot-spotter"), "--db", db]);
  assert.deepEqual({ ...one(db, `SELECT cwd, git_branch FROM task_list_execution_runs WHERE id = 'fa812bfe-b295-4cca-9c2f-fdf01028cb46'`) }, { cwd: "/home/USER/projects/spotter-worktrees/spotter-a0y", git_branch: "spotter-a0y" });
  const subagents = all(db, `SELECT a.id, a.task_id, t.title, (SELECT tool FROM tool_uses WHERE id = a.task_id) AS spawned_by
                               FROM build_agent_instances a LEFT JOIN tasks t ON t.id = a.task_id
                              WHERE a.execution_id = 'fa812bfe-b295-4cca-9c2f-fdf01028cb46' AND a.id NOT LIKE '%/main' ORDER BY a.id`);
  assert.equal(subagents.length, 3);
  const linked = subagents.filter((s) => s.spawned_by === "Task");
  assert.equal(linked.length, 2, "the two 2.x subagents whose Task result names their agentId are linked to that call");
  for (const s of linked) assert.ok(s.title, "the Task call's description is the subagent's task");
});

test("a session being written is followed: appended lines add only what is new", async (t) => {
  const { spawn } = await import("node:child_process");
  const { BIN } = await import("./helpers.js");
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const src = fs.readFileSync(path.join(FIXTURES, "marot-spotter", "tool_heavy.jsonl"), "utf8").trimEnd().split("\n");
  const file = path.join(dir, "proj", "s.jsonl");
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, src.slice(0, 20).join("\n") + "\n" + src[20]!.slice(0, 40));
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", path.dirname(file), "--db", db], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  const tools = async (want: number) => {
    const count = () => {
      try {
        return one(db, `SELECT COUNT(*) AS n FROM tool_uses`)?.n;
      } catch {
        return undefined; // the follower has not created its tables yet
      }
    };
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      if (fs.existsSync(db) && count() === want) return;
    }
    assert.equal(one(db, `SELECT COUNT(*) AS n FROM tool_uses`)?.n, want);
  };
  const firstPart = src.slice(0, 20).reduce((n, l) => n + (l.match(/"type":\s*"tool_use"/g)?.length ?? 0), 0);
  await tools(firstPart);
  fs.writeFileSync(file, src.join("\n") + "\n");
  await tools(6);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM llm_calls`)?.n, 4);
  child.kill("SIGINT");
  assert.equal(await new Promise((r) => child.on("exit", r)), 0);
});

test("tokens are counted once per API response, not once per line", async () => {
  const db = tmpDb();
  const file = path.join(FIXTURES, "marot-spotter", "short.jsonl");
  await cli(["ingest", file, "--db", db]);
  // Its one response is spread over five lines, each repeating the usage (13 output tokens).
  assert.deepEqual({ ...one(db, `SELECT COUNT(*) AS calls, SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cache_read FROM llm_calls`) }, { calls: 1, output: 13, cache_read: 11515 });
  const again = await cli(["ingest", file, "--db", db]);
  assert.match(again.stderr, /already up to date/);
});

test("re-reading a grown session adds only what is new and keeps every entry's sequence", async () => {
  const db = tmpDb();
  const dir = tmpDir();
  const src = fs.readFileSync(path.join(FIXTURES, "sniffly", "fed8ce56-bc79-401f-a83e-af084253362f.jsonl"), "utf8").trimEnd().split("\n");
  const file = path.join(dir, "proj", "fed8ce56.jsonl");
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, src.slice(0, 12).join("\n") + "\n");
  await cli(["ingest", file, "--db", db]);
  const before = all(db, `SELECT id, sequence FROM transcript_entries ORDER BY id`);
  fs.writeFileSync(file, src.join("\n") + "\n");
  const r = await cli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  const after = new Map(all(db, `SELECT id, sequence FROM transcript_entries`).map((x) => [x.id, x.sequence]));
  for (const b of before) assert.equal(after.get(b.id as string), b.sequence, `${b.id} kept its sequence`);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM tool_uses`)?.n, 7);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM llm_calls`)?.n, 4);
  const seqs = all(db, `SELECT sequence FROM transcript_entries ORDER BY sequence`).map((x) => x.sequence as number);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "no gaps, no repeats");
});

/** A hand-written session in the format's shape: one response over two lines, an unknown model, a producer's cost. */
function handSession(model: string, costUSD?: number) {
  const base = { sessionId: "hand-1", cwd: "/w", gitBranch: "main", version: "1.0.50", isSidechain: false, userType: "external" };
  return [
    { ...base, type: "user", uuid: "u1", parentUuid: null, timestamp: "2026-01-16T09:00:00.000Z", message: { role: "user", content: "fix the build" } },
    { ...base, type: "assistant", uuid: "a1", parentUuid: "u1", timestamp: "2026-01-16T09:00:02.000Z", requestId: "req_1", ...(costUSD !== undefined ? { costUSD } : {}),
      message: { id: "msg_1", model, role: "assistant", content: [{ type: "text", text: "Running the build." }], usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 } } },
    { ...base, type: "assistant", uuid: "a2", parentUuid: "a1", timestamp: "2026-01-16T09:00:03.000Z", requestId: "req_1", ...(costUSD !== undefined ? { costUSD } : {}),
      message: { id: "msg_1", model, role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "npm run build" } }], usage: { input_tokens: 10, output_tokens: 40, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 } } },
    { ...base, type: "user", uuid: "u2", parentUuid: "a2", timestamp: "2026-01-16T09:00:09.000Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", is_error: true, content: "error TS2304: Cannot find name 'x'" }] } },
    { ...base, type: "assistant", uuid: "a3", parentUuid: "u2", timestamp: "2026-01-16T09:00:10.000Z", isApiErrorMessage: true, message: { id: "msg_2", model: "<synthetic>", role: "assistant", content: [{ type: "text", text: "API Error: 529 Overloaded" }], usage: { input_tokens: 0, output_tokens: 0 } } },
  ];
}

test("cost comes from the price table; a producer's cost wins; an unknown model's cost stays unknown, never 0", async () => {
  const known = tmpDb();
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "p", "s.jsonl"), handSession("claude-sonnet-4-20250514")), "--db", known]);
  // claude-sonnet-4: $3 in, $15 out, $0.30 cache read per million: (10 × 3 + 40 × 15 + 100 × 0.3) / 1e6.
  assert.deepEqual({ ...one(known, `SELECT model, input_tokens, output_tokens, cost_usd FROM llm_calls`) }, { model: "claude-sonnet-4-20250514", input_tokens: 10, output_tokens: 40, cost_usd: 0.00066 });
  assert.deepEqual({ ...one(known, `SELECT result_status, error_message, duration_ms FROM tool_uses`) }, { result_status: "error", error_message: "error TS2304: Cannot find name 'x'", duration_ms: 6000 });
  assert.equal(one(known, `SELECT summary FROM transcript_entries WHERE entry_type = 'error'`)?.summary, "API Error: 529 Overloaded");
  assert.equal(one(known, `SELECT COUNT(*) AS n FROM llm_calls WHERE model = '<synthetic>'`)?.n, 0, "an API error is not a model call");

  const producer = tmpDb();
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "p", "s.jsonl"), handSession("claude-sonnet-4-20250514", 0.0123)), "--db", producer]);
  assert.equal(one(producer, `SELECT cost_usd FROM llm_calls`)?.cost_usd, 0.0123);

  const unknown = tmpDb();
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "p", "s.jsonl"), handSession("acme-llm-9")), "--db", unknown]);
  assert.deepEqual({ ...one(unknown, `SELECT output_tokens, cost_usd FROM llm_calls`) }, { output_tokens: 40, cost_usd: null });
  const ls = await cli(["ls", "--db", unknown]);
  assert.match(ls.stdout, /hand-1 .* unknown/);
  const json = JSON.parse((await cli(["ls", "--db", unknown, "--json"])).stdout);
  assert.equal(json[0].cost_usd, null);
  assert.equal(json[0].unpriced_calls, 1);

  // A user's own price table is laid over the built-in one.
  const prices = path.join(tmpDir(), "prices.json");
  fs.writeFileSync(prices, JSON.stringify({ "acme-llm-9": { input: 1, output: 2, cache_read: 0, cache_write: 0 } }));
  const priced = tmpDb();
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "p", "s.jsonl"), handSession("acme-llm-9")), "--db", priced, "--prices", prices]);
  assert.equal(one(priced, `SELECT cost_usd FROM llm_calls`)?.cost_usd, 0.00009);
  const bad = await cli(["ingest", writeJsonl(path.join(tmpDir(), "p", "s.jsonl"), handSession("x")), "--db", tmpDb(), "--prices", "/no/such.json"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cannot read the price table \/no\/such\.json/);
});

test("a line that is not JSON in a session is still a bad line, named with its line number", async () => {
  const lines: (object | string)[] = handSession("claude-sonnet-4");
  lines.splice(2, 0, "{half a line");
  const file = writeJsonl(path.join(tmpDir(), "p", "s.jsonl"), lines);
  const db = tmpDb();
  const r = await cli(["ingest", file, "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file}:3: not JSON`));
  const ok = await cli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM tool_uses`)?.n, 1);
});

/**
 * Copies of every fixture session under new session ids, as a resumed, continued or forked
 * session carries the earlier one's lines (with their uuids, toolu_ ids and message ids).
 */
function copySessions(to: string): Map<string, string> {
  const ids = new Map<string, string>();
  const fresh = (old: string) => {
    if (!ids.has(old)) ids.set(old, `c0${old.slice(2)}`);
    return ids.get(old)!;
  };
  const walk = (from: string, into: string) => {
    fs.mkdirSync(into, { recursive: true });
    for (const ent of fs.readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, ent.name);
      const name = ent.name.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, fresh);
      if (ent.isDirectory()) walk(src, path.join(into, name));
      else if (ent.name.endsWith(".jsonl")) {
        const text = fs.readFileSync(src, "utf8").replace(/"sessionId":"([0-9a-f-]{36})"/g, (_, id: string) => `"sessionId":"${fresh(id)}"`);
        fs.writeFileSync(path.join(into, name), text);
      }
    }
  };
  walk(FIXTURES, to);
  return ids;
}

test("copies of the sessions under new ids: every original keeps its rows, every copy is listed and shows them as replayed, each response counts once", async () => {
  const db = tmpDb();
  const copies = path.join(tmpDir(), "copies");
  const ids = copySessions(copies);
  assert.equal((await cli(["ingest", FIXTURES, "--db", db])).code, 0);
  const before = one(db, `SELECT SUM(cost_usd) AS cost, SUM(output_tokens) AS output FROM llm_calls`);
  const r = await cli(["ingest", copies, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  const own = (id: string) => one(db, `
      SELECT (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id) AS tools,
             (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id AND is_error = 1) AS failed,
             (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id AND replay_of IS NOT NULL) AS replayed_tools,
             (SELECT COUNT(*) FROM llm_calls WHERE execution_id = @id) AS responses,
             (SELECT COUNT(*) FROM llm_calls WHERE execution_id = @id AND replay_of IS NOT NULL) AS replayed_responses,
             (SELECT COUNT(*) FROM build_agent_instances WHERE execution_id = @id) AS agents`, { id });
  for (const [id, e] of Object.entries(SESSIONS)) {
    // The original: exactly what it had alone, none of it a replay.
    assert.deepEqual({ ...own(id) }, { tools: e.tools, failed: e.failed, replayed_tools: 0, responses: e.responses, replayed_responses: 0, agents: e.agents }, id);
    // Its copy: every row there too (its trace shows its history), all of it marked as the original's.
    const copy = ids.get(id)!;
    assert.deepEqual({ ...own(copy) }, { tools: e.tools, failed: e.failed, replayed_tools: e.tools, responses: e.responses, replayed_responses: e.responses, agents: e.agents }, copy);
    assert.equal(Number(one(db, `SELECT COUNT(DISTINCT replay_of) AS n FROM tool_uses WHERE execution_id = ? AND replay_of <> ?`, copy, id)?.n), 0);
  }
  // Every execution is listed, and the totals are what the originals alone make.
  const ls = await cli(["ls", "--json", "--db", db]);
  const listed = JSON.parse(ls.stdout) as { execution_id: string; cost_usd: number | null; replayed_calls: number; errors: number }[];
  assert.equal(listed.length, 18);
  for (const id of Object.keys(SESSIONS)) {
    const o = listed.find((x) => x.execution_id === id)!;
    const c = listed.find((x) => x.execution_id === ids.get(id))!;
    assert.equal(o.replayed_calls, 0);
    assert.equal(c.replayed_calls, SESSIONS[id]!.responses);
    assert.equal(c.cost_usd, null, "a copy's own spending is nothing");
    assert.equal(c.errors, 0, "its errors are the original's");
  }
  // A copy's trace shows its history, each step marked as the original's.
  const original = "d6e0bada-1959-4eec-a9d2-0bfade768d8f";
  const task = one(db, `SELECT id FROM tasks WHERE execution_id = ? AND display_id = 'turn 1'`, ids.get(original))?.id as string;
  assert.match(task, /^turn-.*@c0/);
  const trace = JSON.parse((await cli(["trace", task, "--json", "--db", db])).stdout) as { rows?: { replay_of: string | null }[] } | { replay_of: string | null }[];
  const steps = Array.isArray(trace) ? trace : (trace.rows ?? []);
  assert.ok(steps.length > 0);
  assert.deepEqual([...new Set(steps.map((r) => r.replay_of))], [original]);
  const text = await cli(["trace", task, "--db", db]);
  assert.match(text.stdout, /\(replayed\)/);
  const after = one(db, `SELECT SUM(cost_usd) AS cost, SUM(output_tokens) AS output FROM llm_calls WHERE replay_of IS NULL`);
  assert.deepEqual({ ...after }, { ...before });
  const sum = listed.reduce((n, x) => n + (x.cost_usd ?? 0), 0);
  assert.ok(Math.abs(sum - Number(before?.cost)) < 1e-6, `ls totals ${sum} = ${before?.cost}`);
});

test("a subagent's sidecar names its Task call and type; a workflow's agents work tasks of their own", async () => {
  const s = "22222222-3333-4444-5555-666666666666";
  const dir = path.join(tmpDir(), "proj");
  const at = (n: number) => `2026-03-02T10:00:${String(n).padStart(2, "0")}.000Z`;
  writeJsonl(path.join(dir, `${s}.jsonl`), [
    { type: "user", sessionId: s, uuid: "u0", timestamp: at(0), message: { role: "user", content: "look around" } },
    { type: "assistant", sessionId: s, uuid: "u1", timestamp: at(1), message: { id: "m1", model: "claude-opus-4-6", role: "assistant", content: [{ type: "tool_use", id: "toolu_T", name: "Task", input: { description: "Find the routes", prompt: "find", subagent_type: "general-purpose" } }], usage: { input_tokens: 1, output_tokens: 1 } } },
    // The result names no agentId: only the sidecar links the subagent to this call.
    { type: "user", sessionId: s, uuid: "u2", timestamp: at(9), message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_T", content: "done" }] } },
  ]);
  const agentLine = (agentId: string, n: number) => ({ type: "assistant", sessionId: s, agentId, isSidechain: true, uuid: `${agentId}-${n}`, timestamp: at(2 + n), message: { id: `${agentId}-m${n}`, model: "claude-haiku-4-5", role: "assistant", content: [{ type: "text", text: "working" }], usage: { input_tokens: 10, output_tokens: 2 } } });
  writeJsonl(path.join(dir, s, "subagents", "agent-a1.jsonl"), [agentLine("a1", 0), agentLine("a1", 1)]);
  fs.writeFileSync(path.join(dir, s, "subagents", "agent-a1.meta.json"), JSON.stringify({ agentType: "Explore", toolUseId: "toolu_T", description: "Find the routes" }));
  writeJsonl(path.join(dir, s, "subagents", "workflows", "review", "agent-w1.jsonl"), [agentLine("w1", 0)]);
  const db = tmpDb();
  const r = await cli(["ingest", dir, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(all(db, `SELECT id, task_id, agent_type FROM build_agent_instances ORDER BY id`).map((x) => ({ ...x })), [
    { id: `${s}/a1`, task_id: "toolu_T", agent_type: "Explore" },
    { id: `${s}/main`, task_id: null, agent_type: "main" },
    { id: `${s}/w1`, task_id: `${s}/agent-w1`, agent_type: "workflow:review" },
  ]);
  assert.deepEqual({ ...one(db, `SELECT title, display_id FROM tasks WHERE id = ?`, `${s}/agent-w1`) }, { title: "workflow review w1", display_id: "workflow review" });
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM llm_calls WHERE execution_id = ?`, s)?.n, 4);
});
