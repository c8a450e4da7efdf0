/**
 * Real Codex CLI rollouts, Gemini CLI recordings and `claude -p` stream-json output, unmodified
 * in test/fixtures/ (copied from ../shared/fixtures, what each teaches in its SOURCES.md), and
 * hand-built files where no real one exists (a Codex subagent's rollout, gemini -p stream-json),
 * written after the producers' own types. The expected counts come from test/fixture-counts.py,
 * a script over the raw files that knows nothing of obs (its rules are in its docstring); the
 * expected costs are those counts at the listed prices, worked out by hand in the comments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { codex } from "../src/ingest/adapters/codex.js";
import { claudeStreamJson } from "../src/ingest/adapters/claude-stream-json.js";
import { geminiCli } from "../src/ingest/adapters/gemini-cli.js";
import { adapterEvents } from "../src/ingest/ingest.js";
import { PRICES } from "../src/pricing.js";
import { all, cli, one, ROOT, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures");
const ctx = { prices: PRICES };

interface Counts {
  tools: number;
  failed: number;
  open: number;
  calls: number;
  input: number;
  cache_read: number;
  output: number;
  cost: number | null;
  tasks: number;
  agents: number;
}

/** What obs stored for one execution, in the terms test/fixture-counts.py counts. */
function counts(db: string, id: string): Counts {
  const c = one(db, `
    SELECT (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id) AS tools,
           (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id AND is_error = 1) AS failed,
           (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id AND result_status IS NULL) AS open,
           (SELECT COUNT(*) FROM llm_calls WHERE execution_id = @id) AS calls,
           (SELECT COALESCE(SUM(input_tokens), 0) FROM llm_calls WHERE execution_id = @id) AS input,
           (SELECT COALESCE(SUM(cache_read_tokens), 0) FROM llm_calls WHERE execution_id = @id) AS cache_read,
           (SELECT COALESCE(SUM(output_tokens), 0) FROM llm_calls WHERE execution_id = @id) AS output,
           (SELECT ROUND(SUM(cost_usd), 8) FROM llm_calls WHERE execution_id = @id) AS cost,
           (SELECT COUNT(*) FROM tasks WHERE execution_id = @id) AS tasks,
           (SELECT COUNT(*) FROM build_agent_instances WHERE execution_id = @id) AS agents`, { id });
  return { ...c } as unknown as Counts;
}

/** The reasoning tokens of a file's model calls, from its adapter's events (the column is the schema's next). */
function reasoning(adapter: typeof codex, file: string): number {
  return adapterEvents(adapter, file, ctx.prices).events.filter((e) => e.kind === "llm:call").reduce((n, e) => n + Number(e.reasoning_tokens ?? 0), 0);
}

const CODEX: Record<string, { file: string; want: Counts; reasoning: number }> = {
  // aide-gpt-5 is a custom provider's model: no price, so its cost stays unknown.
  "01996135-afde-7911-97f0-d863511eca56": { file: "Mai0313-VibeCodingTracker/test_conversation_oai.jsonl", reasoning: 9536,
    want: { tools: 18, failed: 1, open: 0, calls: 19, input: 133698, cache_read: 136832, output: 12551, cost: null, tasks: 1, agents: 1 } },
  // gpt-5-1-codex-… is priced as gpt-5: (7,626 × $1.25 + 14,848 × $0.125 + 300 × $10) / 1e6 = $0.0143885.
  "019b7f94-51b4-7593-922e-ba12b5b73b52": { file: "codemie-ai-codemie-code/rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl", reasoning: 128,
    want: { tools: 3, failed: 0, open: 0, calls: 3, input: 7626, cache_read: 14848, output: 300, cost: 0.0143885, tasks: 1, agents: 1 } },
  // gpt-5.5: (1,126,300 × $5 + 4,929,536 × $0.50 + 9,118 × $30) / 1e6 = $8.369808.
  "019e1625-789d-76c0-80ab-3724b5ddb799": { file: "codemie-ai-codemie-code/rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl", reasoning: 1759,
    want: { tools: 105, failed: 5, open: 0, calls: 66, input: 1126300, cache_read: 4929536, output: 9118, cost: 8.369808, tasks: 2, agents: 1 } },
  // Codex Desktop's file: no turn_context and no token_count, so no model and no model calls.
  "019e1695-0522-7c83-8b39-0dd379793f80": { file: "codemie-ai-codemie-code/rollout-2026-05-11T13-28-45-019e1695-0522-7c83-8b39-0dd379793f80.jsonl", reasoning: 0,
    want: { tools: 38, failed: 3, open: 0, calls: 0, input: 0, cache_read: 0, output: 0, cost: null, tasks: 3, agents: 1 } },
};

test("Codex rollouts: every fixture with its independently counted tool calls, failures, model calls and tokens", async () => {
  const db = tmpDb();
  const r = await cli(["ingest", path.join(FIX, "codex"), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ingested 4 sources: 617 lines/);
  for (const [id, e] of Object.entries(CODEX)) {
    assert.deepEqual(counts(db, id), e.want, id);
    assert.equal(reasoning(codex, path.join(FIX, "codex", e.file)), e.reasoning, `${id}: reasoning tokens`);
  }
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs`)?.n, 4);
  // Failure is an exit code (exec_command_end's, or inside the output), a refusal, a command that never ran.
  assert.deepEqual(all(db, `SELECT tool || ': ' || substr(error_message, 1, 11) AS e FROM tool_uses WHERE is_error = 1 AND execution_id = '019e1625-789d-76c0-80ab-3724b5ddb799' ORDER BY e`).map((x) => x.e), [
    "exec_command: exit code 1", "exec_command: exit code 1", "exec_command: exit code 1", "exec_command: exit code 2", "write_stdin: write_stdin",
  ]);
  assert.equal(one(db, `SELECT error_message FROM tool_uses WHERE execution_id = '01996135-afde-7911-97f0-d863511eca56' AND is_error = 1`)?.error_message, "patch rejected: empty patch");
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM tool_uses WHERE execution_id = '019e1695-0522-7c83-8b39-0dd379793f80' AND is_error = 1 AND tool = 'js' AND error_message LIKE 'Browser Use rejected this action%'`)?.n, 2);
  // Web searches have no call_id and no output: each pairs with its web_search_end and ends when recorded.
  assert.deepEqual(all(db, `SELECT id, result_status FROM tool_uses WHERE tool = 'web_search' ORDER BY start_time`).map((x) => `${x.result_status} ${String(x.id).slice(0, 3)}`), ["done ws_", "done ws_", "done ws_"]);
  assert.deepEqual({ ...one(db, `SELECT task_list_id, cwd, git_branch, status FROM task_list_execution_runs WHERE id = '01996135-afde-7911-97f0-d863511eca56'`) }, {
    task_list_id: "claude-code", cwd: "/proj/ds906659/gai/claude-code", git_branch: "main", status: "completed",
  });
  // Each turn is a task named after its prompt; the model comes from turn_context.
  assert.deepEqual(all(db, `SELECT title, status FROM tasks WHERE execution_id = '019e1625-789d-76c0-80ab-3724b5ddb799' ORDER BY started_at`).map((x) => `${x.status}: ${x.title}`), [
    "completed: show tools", "completed: let's update the defailt context compart to 90 in env var",
  ]);
  const v = await cli(["validate", "--all", "--json", "--db", db]);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
  const again = await cli(["ingest", path.join(FIX, "codex"), "--db", db]);
  assert.match(again.stderr, /4 already up to date/);
});

/** A subagent's rollout as Codex writes one: its own session_meta, a copy of the parent's history (without tool calls), then its own turn. */
function subagentRollout(parent: string[], child: { id: string; parent: string; depth: number; at: string; replay: boolean; freshCounts?: boolean }): string[] {
  const meta = JSON.parse(parent[0]!) as { payload: Record<string, unknown> };
  const at = Date.parse(child.at);
  const iso = (ms: number) => new Date(ms).toISOString();
  const line = (ms: number, type: string, payload: object) => JSON.stringify({ timestamp: iso(ms), type, payload });
  const out = [line(at, "session_meta", {
    id: child.id, timestamp: child.at, cwd: meta.payload.cwd, originator: "codex_exec", cli_version: "0.130.0", model_provider: "openai",
    source: { subagent: { thread_spawn: { parent_thread_id: child.parent, depth: child.depth, agent_nickname: "Euclid", agent_role: "explorer" } } },
  })];
  let lastTotal = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 };
  if (child.replay) {
    for (const raw of parent) {
      const o = JSON.parse(raw) as { type: string; payload: Record<string, unknown> };
      const keep = o.type === "session_meta" || o.type === "event_msg" || o.type === "turn_context" || o.type === "compacted" ||
        (o.type === "response_item" && o.payload.type === "message" && o.payload.role !== "assistant");
      if (!keep) continue;
      // Re-stamped to the fork's time, as Codex writes the copy.
      out.push(JSON.stringify({ ...o, timestamp: iso(at) }));
      const total = (o.payload.info as { total_token_usage?: typeof lastTotal } | null | undefined)?.total_token_usage;
      if (o.payload.type === "token_count" && total) lastTotal = total;
    }
  }
  const base = child.freshCounts ? { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 } : lastTotal;
  const total = (input: number, cached: number, output: number, reasoning: number) => ({
    info: { total_token_usage: { input_tokens: base.input_tokens + input, cached_input_tokens: base.cached_input_tokens + cached, output_tokens: base.output_tokens + output, reasoning_output_tokens: base.reasoning_output_tokens + reasoning, total_tokens: base.total_tokens + input + output } },
  });
  const turn = "019b7fa0-0000-7000-8000-000000000001"; // a UUIDv7 of after the child's creation
  out.push(
    line(at + 5, "event_msg", { type: "task_started", turn_id: turn, started_at: Math.floor(at / 1000) + 1 }),
    line(at + 6, "turn_context", { turn_id: turn, cwd: meta.payload.cwd, model: "gpt-5.1-codex-mini" }),
    line(at + 7, "event_msg", { type: "user_message", message: "List the TODOs under src/" }),
    line(at + 900, "response_item", { type: "function_call", name: "exec_command", arguments: JSON.stringify({ cmd: "rg TODO src" }), call_id: `call_${child.id.slice(-6)}` }),
    line(at + 950, "event_msg", { type: "token_count", info: total(1000, 400, 60, 20).info }),
    line(at + 1200, "response_item", { type: "function_call_output", call_id: `call_${child.id.slice(-6)}`, output: "Chunk ID: 1\nWall time: 0.2 seconds\nProcess exited with code 1\nOriginal token count: 0\nOutput:\n" }),
    line(at + 1250, "event_msg", { type: "token_count", info: total(1000, 400, 60, 20).info }),
    line(at + 2000, "event_msg", { type: "token_count", info: total(2500, 1400, 100, 20).info }),
    line(at + 2001, "event_msg", { type: "task_complete", turn_id: turn, last_agent_message: "There are none." }),
  );
  return out;
}

test("a Codex tool call is summed up by its command, as a Claude Code one is: exec_command's cmd, a shell's -c script, not their JSON", async () => {
  const db = tmpDb();
  const dir = path.join(FIX, "codex", "codemie-ai-codemie-code");
  assert.equal((await cli(["ingest", dir, "--db", db])).code, 0);
  // What each call was asked to run, read from the rollouts here, independently of obs.
  const expected = new Map<string, string>();
  for (const f of fs.readdirSync(dir)) {
    for (const l of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      if (!l.trim()) continue;
      const p = (JSON.parse(l) as { payload?: { type?: string; name?: string; arguments?: string; call_id?: string } }).payload;
      if (p?.type !== "function_call" || typeof p.arguments !== "string" || !p.call_id) continue;
      const args = JSON.parse(p.arguments) as { cmd?: string; command?: string[] };
      if (p.name === "exec_command" && typeof args.cmd === "string") expected.set(p.call_id, args.cmd);
      if (p.name === "shell" && Array.isArray(args.command) && args.command[1] === "-lc") expected.set(p.call_id, args.command[2]!);
    }
  }
  assert.ok(expected.size >= 10, `${expected.size} commands in the fixtures`);
  const first = (t: string) => t.split("\n")[0]!.replace(/\s+/g, " ").trim();
  for (const [call, command] of expected) {
    const row = one(db, `SELECT tool, input_summary FROM tool_uses WHERE id = ? OR id LIKE ? || '@%'`, call, call) as { tool: string; input_summary: string } | undefined;
    assert.ok(row, `call ${call} is stored`);
    assert.doesNotMatch(row.input_summary, /^\{"/, `${call}: ${row.input_summary}`);
    assert.ok(row.input_summary.startsWith(first(command).slice(0, 40)), `${call}: '${row.input_summary}' is not '${first(command)}'`);
  }
});

test("a Codex subagent's rollout: an agent of its parent's execution with a task of its own, the replayed history counted once", async () => {
  const parentFile = path.join(FIX, "codex", CODEX["019b7f94-51b4-7593-922e-ba12b5b73b52"]!.file);
  const parent = fs.readFileSync(parentFile, "utf8").trimEnd().split("\n");
  const parentId = "019b7f94-51b4-7593-922e-ba12b5b73b52";
  const childId = "019b7f9f-1111-7000-8000-00000000c41d";
  const sessions = path.join(tmpDir(), ".codex", "sessions", "2026", "01", "02");
  fs.mkdirSync(sessions, { recursive: true });
  fs.copyFileSync(parentFile, path.join(sessions, path.basename(parentFile)));
  const childFile = path.join(sessions, `rollout-2026-01-02T18-40-10-${childId}.jsonl`);
  fs.writeFileSync(childFile, subagentRollout(parent, { id: childId, parent: parentId, depth: 1, at: "2026-01-02T16:40:10.000Z", replay: true }).join("\n") + "\n");

  // The child alone: none of the copy is counted, its own two calls are (1,000 + 1,500 input, 400 + 1,000 of it cached).
  const alone = tmpDb();
  const r1 = await cli(["ingest", childFile, "--db", alone]);
  assert.equal(r1.code, 0, r1.stderr);
  // gpt-5.1-codex-mini: (1,100 × $0.25 + 1,400 × $0.025 + 100 × $2) / 1e6 = $0.00051.
  assert.deepEqual(counts(alone, parentId), { tools: 1, failed: 1, open: 0, calls: 2, input: 1100, cache_read: 1400, output: 100, cost: 0.00051, tasks: 1, agents: 1 });
  assert.equal(one(alone, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = ?`, childId)?.n, 0, "the child is no execution of its own");

  // Parent and child, in either order: the parent's numbers plus the child's own, once.
  for (const order of [[parentFile, childFile], [childFile, parentFile]]) {
    const db = tmpDb();
    const r = await cli(["ingest", ...order, "--db", db]);
    assert.equal(r.code, 0, r.stderr);
    const p = CODEX[parentId]!.want;
    assert.deepEqual(counts(db, parentId), { ...p, tools: p.tools + 1, failed: 1, calls: p.calls + 2, input: p.input + 1100, cache_read: p.cache_read + 1400, output: p.output + 100, cost: 0.0148985, tasks: 2, agents: 2 });
    assert.deepEqual({ ...one(db, `SELECT a.id, a.task_id, t.title, t.status, t.display_id FROM build_agent_instances a JOIN tasks t ON t.id = a.task_id WHERE a.id LIKE '%/' || ?`, childId) }, {
      id: `${parentId}/${childId}`, task_id: `agent-${childId}`, title: "explorer Euclid: List the TODOs under src/", status: "completed", display_id: "subagent",
    });
    assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs`)?.n, 1);
  }

  // A subagent of the subagent, spawned without a copy of history: its root is found through its parent's rollout.
  const grandId = "019b7fa5-2222-7000-8000-0000000000aa";
  const grandFile = path.join(sessions, `rollout-2026-01-02T18-41-00-${grandId}.jsonl`);
  fs.writeFileSync(grandFile, subagentRollout(parent, { id: grandId, parent: childId, depth: 2, at: "2026-01-02T16:41:00.000Z", replay: false, freshCounts: true }).join("\n") + "\n");
  const db = tmpDb();
  assert.equal((await cli(["ingest", path.dirname(path.dirname(path.dirname(sessions))), "--db", db])).code, 0);
  assert.deepEqual(all(db, `SELECT id FROM build_agent_instances ORDER BY id`).map((x) => x.id), [`${parentId}/${childId}`, `${parentId}/${grandId}`, `${parentId}/main`]);
  assert.equal(counts(db, parentId).calls, 3 + 2 + 2);
});

test("a Codex rollout being written: re-reading the grown file adds only what is new; an unfinished turn and call stay open", async () => {
  const src = fs.readFileSync(path.join(FIX, "codex", CODEX["019e1625-789d-76c0-80ab-3724b5ddb799"]!.file), "utf8").trimEnd().split("\n");
  const file = path.join(tmpDir(), "rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl");
  // Cut in the second turn, after an exec_command that is still running.
  const cut = src.findIndex((l) => l.includes("call_NqXBF7JK4NH5M85YXgojxxmC") && l.includes('"function_call_output"')) + 1;
  fs.writeFileSync(file, src.slice(0, cut).join("\n") + "\n");
  const db = tmpDb();
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  const id = "019e1625-789d-76c0-80ab-3724b5ddb799";
  assert.equal(one(db, `SELECT status FROM task_list_execution_runs WHERE id = ?`, id)?.status, "started", "its second turn has not completed");
  assert.equal(one(db, `SELECT result_status FROM tool_uses WHERE id = 'call_NqXBF7JK4NH5M85YXgojxxmC'`)?.result_status, null, "still running: its exit code is to come");
  assert.equal(one(db, `SELECT status FROM tasks WHERE id = '019e162b-0011-7240-abbc-f7b732e49728'`)?.status, "running");
  fs.writeFileSync(file, src.join("\n") + "\n");
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  assert.deepEqual(counts(db, id), CODEX[id]!.want);
  assert.equal(one(db, `SELECT result_status FROM tool_uses WHERE id = 'call_NqXBF7JK4NH5M85YXgojxxmC'`)?.result_status, "error");
  const seqs = all(db, `SELECT sequence FROM transcript_entries WHERE execution_id = ? ORDER BY sequence`, id).map((x) => x.sequence as number);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "no gaps, no repeats");
});

const GEMINI: Record<string, { file: string; want: Counts; reasoning: number }> = {
  // gemini-3-pro-image-preview is priced as gemini-3-pro ($2 in, $12 out, $0.20 cached): $0.1522156.
  "5b959dae-8655-4cd1-b10f-720b8c336ea2": { file: "codemie-ai-codemie-code/session-2025-12-01T21-45-5b959dae.json", reasoning: 1493,
    want: { tools: 10, failed: 0, open: 0, calls: 11, input: 45092, cache_read: 56538, output: 4227, cost: 0.1522156, tasks: 3, agents: 1 } },
  // gemini-3-pro: (25,301 × 2 + 62,117 × 0.2 + 4,355 × 12) / 1e6 = $0.1152854.
  "37b7abef-713d-4522-85f0-8ff15a4e6d17": { file: "codemie-ai-codemie-code/session-2026-01-16T11-01-file-ops-37b7abef.json", reasoning: 2914,
    want: { tools: 14, failed: 0, open: 0, calls: 9, input: 25301, cache_read: 62117, output: 4355, cost: 0.1152854, tasks: 5, agents: 1 } },
  // gemini-3.1-pro: (36,522 × 2 + 39,826 × 0.2 + 20,941 × 12) / 1e6 = $0.3323012.
  "8a20078e-2d5e-4f81-a640-9b879bbb7e6d": { file: "Mai0313-VibeCodingTracker/test_conversation_gemini.json", reasoning: 11616,
    want: { tools: 7, failed: 0, open: 0, calls: 3, input: 36522, cache_read: 39826, output: 20941, cost: 0.3323012, tasks: 1, agents: 1 } },
  // Two models: gemini-3-flash ($0.50/$3/$0.05) and gemini-3.1-pro, message by message: $0.15896305.
  "0ab84937-9fe7-4284-986a-33c832af0b6a": { file: "Mai0313-VibeCodingTracker/test_conversation_gemini.jsonl", reasoning: 2141,
    want: { tools: 12, failed: 0, open: 0, calls: 6, input: 153635, cache_read: 48951, output: 4293, cost: 0.15896305, tasks: 2, agents: 1 } },
};

test("Gemini CLI recordings (.json and .jsonl): every fixture with its independently counted tool calls, model calls and tokens", async () => {
  const db = tmpDb();
  const r = await cli(["ingest", path.join(FIX, "gemini-cli"), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ingested 4 sources/);
  for (const [id, e] of Object.entries(GEMINI)) {
    assert.deepEqual(counts(db, id), e.want, id);
    assert.equal(reasoning(geminiCli, path.join(FIX, "gemini-cli", e.file)), e.reasoning, `${id}: thoughts`);
  }
  // A message written twice under one id is one message; /init is the prompt the user typed; a tool's response handed back is no prompt.
  assert.deepEqual(all(db, `SELECT title FROM tasks WHERE execution_id = '0ab84937-9fe7-4284-986a-33c832af0b6a' ORDER BY started_at`).map((x) => x.title), ["/init", "幫我做一個小修改 請幫我將上面確保執行時要透過 uv run 來執行 避免環境有問題"]);
  assert.equal(one(db, `SELECT tool_category FROM tool_uses WHERE tool = 'delegate_to_agent'`)?.tool_category, "agent");
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE category = 'thinking' AND execution_id = '5b959dae-8655-4cd1-b10f-720b8c336ea2'`)?.n, 18);
  const v = await cli(["validate", "--all", "--json", "--db", db]);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
});

test("Gemini CLI .jsonl: a failed and a cancelled call, a rewind kept as an entry, a subagent's recording in its parent's folder", async () => {
  const project = path.join(tmpDir(), ".gemini", "tmp", "myproj", "chats");
  const head = { sessionId: "g-parent", projectHash: "abc", startTime: "2026-04-01T10:00:00.000Z", lastUpdated: "2026-04-01T10:00:00.000Z", kind: "main", directories: ["/src/myproj"] };
  const tokens = (input: number, output: number, cached = 0, thoughts = 0) => ({ input, output, cached, thoughts, tool: 0, total: input + output + thoughts });
  const call = (id: string, name: string, status: string, response: object) => ({ id, name, args: { path: "x" }, status, timestamp: "2026-04-01T10:00:05.000Z", result: [{ functionResponse: { id, name, response } }] });
  const file = writeJsonl(path.join(project, "session-2026-04-01T10-00-gparent0.jsonl"), [
    head,
    { id: "u1", type: "user", timestamp: "2026-04-01T10:00:01.000Z", content: [{ text: "read x" }] },
    { id: "m1", type: "gemini", timestamp: "2026-04-01T10:00:04.000Z", model: "gemini-2.5-pro", content: "", tokens: tokens(1000, 10, 400, 30) },
    { id: "m1", type: "gemini", timestamp: "2026-04-01T10:00:04.000Z", model: "gemini-2.5-pro", content: "", tokens: tokens(1000, 10, 400, 30),
      toolCalls: [call("t-err", "read_file", "error", { error: "File not found: x" }), call("t-cancel", "run_shell_command", "cancelled", { error: "[Operation Cancelled] Reason: User did not allow tool call" })] },
    { $set: { lastUpdated: "2026-04-01T10:00:05.000Z" } },
    { id: "u2", type: "user", timestamp: "2026-04-01T10:00:10.000Z", content: [{ text: "never mind" }] },
    { $rewindTo: "u2" },
    { id: "u3", type: "user", timestamp: "2026-04-01T10:00:20.000Z", content: [{ text: "try y" }] },
    { id: "m3", type: "gemini", timestamp: "2026-04-01T10:00:22.000Z", model: "gemini-2.5-pro", content: "Done.", tokens: tokens(1500, 5) },
  ]);
  const sub = writeJsonl(path.join(project, "g-parent", "g-sub.jsonl"), [
    { sessionId: "g-sub", projectHash: "abc", startTime: "2026-04-01T10:00:06.000Z", lastUpdated: "2026-04-01T10:00:09.000Z", kind: "subagent" },
    { id: "s1", type: "user", timestamp: "2026-04-01T10:00:06.000Z", content: [{ text: "investigate the codebase" }] },
    { id: "s2", type: "gemini", timestamp: "2026-04-01T10:00:09.000Z", model: "gemini-2.5-flash", content: "It is small.", tokens: tokens(200, 20) },
  ]);
  const db = tmpDb();
  const r = await cli(["ingest", file, sub, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(all(db, `SELECT id, result_status, is_blocked, COALESCE(error_message, block_reason) AS why FROM tool_uses ORDER BY id`).map((x) => ({ ...x })), [
    { id: "t-cancel", result_status: "blocked", is_blocked: 1, why: "[Operation Cancelled] Reason: User did not allow tool call" },
    { id: "t-err", result_status: "error", is_blocked: 0, why: "File not found: x" },
  ]);
  // The rewound prompt's turn happened; the rewind is an entry. 2.5 Pro: (600 × 1.25 + 400 × 0.125 + 40 × 10 + 1,500 × 1.25 + 5 × 10) / 1e6; 2.5 Flash: (200 × 0.30 + 20 × 2.50) / 1e6.
  assert.deepEqual(all(db, `SELECT title FROM tasks WHERE execution_id = 'g-parent' AND display_id LIKE 'turn%' ORDER BY started_at`).map((x) => x.title), ["read x", "never mind", "try y"]);
  assert.equal(one(db, `SELECT summary FROM transcript_entries WHERE category = 'rewind'`)?.summary, "rewound to before message u2");
  assert.deepEqual(counts(db, "g-parent"), { tools: 2, failed: 1, open: 0, calls: 3, input: 2300, cache_read: 400, output: 65, cost: 0.003235, tasks: 4, agents: 2 });
  assert.deepEqual({ ...one(db, `SELECT task_list_id, cwd FROM task_list_execution_runs WHERE id = 'g-parent'`) }, { task_list_id: "myproj", cwd: "/src/myproj" });
  assert.deepEqual({ ...one(db, `SELECT a.task_id, t.title FROM build_agent_instances a JOIN tasks t ON t.id = a.task_id WHERE a.id = 'g-parent/g-sub'`) }, { task_id: "agent-g-sub", title: "subagent: investigate the codebase" });
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs`)?.n, 1);
});

test("gemini -p stream-json: a prompt before init, reply chunks as one entry, tool results, tokens from the result; a run cut short stays running", async () => {
  // Written after gemini-cli's JsonStreamEvent types (packages/core/src/output/types.ts): no real file of it is public.
  const t = (s: number) => `2026-04-02T09:00:${String(s).padStart(2, "0")}.000Z`;
  const lines = [
    { type: "message", timestamp: t(0), role: "user", content: "count the files" },
    { type: "init", timestamp: t(1), session_id: "gs-1", model: "gemini-2.5-flash" },
    { type: "message", timestamp: t(2), role: "assistant", content: "Let me ", delta: true },
    { type: "message", timestamp: t(2), role: "assistant", content: "look.", delta: true },
    { type: "tool_use", timestamp: t(3), tool_name: "run_shell_command", tool_id: "sh-1", parameters: { command: "ls | wc -l" } },
    { type: "tool_result", timestamp: t(5), tool_id: "sh-1", status: "success", output: "12" },
    { type: "tool_use", timestamp: t(6), tool_name: "read_file", tool_id: "rf-1", parameters: { absolute_path: "/nope" } },
    { type: "tool_result", timestamp: t(7), tool_id: "rf-1", status: "error", error: { type: "FILE_NOT_FOUND", message: "File not found: /nope" } },
    { type: "error", timestamp: t(8), severity: "warning", message: "Loop detected, stopping execution" },
    { type: "message", timestamp: t(9), role: "assistant", content: "There are 12.", delta: true },
    { type: "result", timestamp: t(10), status: "success", stats: { total_tokens: 3100, input_tokens: 3000, output_tokens: 60, cached: 1000, input: 2000, duration_ms: 9000, tool_calls: 2 } },
  ];
  const file = writeJsonl(path.join(tmpDir(), "gemini-run.jsonl"), lines);
  const db = tmpDb();
  const r = await cli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  // 2.5 Flash: (2,000 × 0.30 + 1,000 × 0.03 + (60 + 40 thoughts) × 2.50) / 1e6 = $0.00088.
  assert.deepEqual(counts(db, "gs-1"), { tools: 2, failed: 1, open: 0, calls: 1, input: 2000, cache_read: 1000, output: 100, cost: 0.00088, tasks: 1, agents: 1 });
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries WHERE category = 'assistant' ORDER BY sequence`).map((x) => x.summary), ["Let me look.", "There are 12."]);
  assert.deepEqual({ ...one(db, `SELECT status, started_at, completed_at FROM task_list_execution_runs`) }, { status: "completed", started_at: t(0), completed_at: t(10) });
  assert.deepEqual({ ...one(db, `SELECT title, status FROM tasks`) }, { title: "count the files", status: "completed" });
  assert.equal(one(db, `SELECT error_message FROM tool_uses WHERE id = 'rf-1'`)?.error_message, "File not found: /nope");

  const cutShort = tmpDb();
  await cli(["ingest", writeJsonl(path.join(tmpDir(), "gemini-run.jsonl"), lines.slice(0, 6)), "--db", cutShort]);
  assert.deepEqual({ ...one(cutShort, `SELECT r.status, t.status AS turn FROM task_list_execution_runs r JOIN tasks t ON t.execution_id = r.id`) }, { status: "started", turn: "running" });
  assert.equal(one(cutShort, `SELECT COUNT(*) AS n FROM llm_calls`)?.n, 0, "tokens are only in the result");
});

const STREAM: Record<string, { file: string; want: Counts; writes: number }> = {
  "a59e322e-6550-415c-8761-b976f31b9d60": { file: "HamzaAlayed-laravel-claude-agents/stream-json-sample.jsonl", writes: 20522,
    want: { tools: 1, failed: 0, open: 0, calls: 3, input: 4, cache_read: 50873, output: 362, cost: 0.2397265, tasks: 1, agents: 1 } },
  "a0122a74-998a-46ef-8793-308559460bb6": { file: "HamzaAlayed-laravel-claude-agents/stream-json-subagent.jsonl", writes: 36227,
    want: { tools: 2, failed: 0, open: 0, calls: 4, input: 8, cache_read: 68252, output: 629, cost: 0.33805725, tasks: 2, agents: 2 } },
  "1abc6c0c-a5ec-4803-ad95-7e3d42bcb980": { file: "apple-techie-loop-orchestrator/claude-stream.jsonl", writes: 18982,
    want: { tools: 1, failed: 0, open: 0, calls: 3, input: 13827, cache_read: 45421, output: 144, cost: 0.570531, tasks: 1, agents: 1 } },
  "30b3e9a3-4fac-468c-a5b1-f2824b027ab3": { file: "on-keyday-agent-harness/claude-stream-json.jsonl", writes: 5101,
    want: { tools: 1, failed: 0, open: 0, calls: 3, input: 18, cache_read: 48359, output: 259, cost: 0.0163509, tasks: 1, agents: 1 } },
};

test("claude -p stream-json: every fixture; the result's modelUsage and cost are the producer's and win, unseen calls kept", async () => {
  const db = tmpDb();
  const r = await cli(["ingest", path.join(FIX, "claude-stream-json"), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  for (const [id, e] of Object.entries(STREAM)) {
    assert.deepEqual(counts(db, id), e.want, id);
    const events = adapterEvents(claudeStreamJson, path.join(FIX, "claude-stream-json", e.file), ctx.prices).events.filter((x) => x.kind === "llm:call");
    assert.equal(events.reduce((n, x) => n + Number(x.cache_write_tokens) + Number(x.cache_write_1h_tokens ?? 0), 0), e.writes, `${id}: cache writes, 5-minute and 1-hour`);
    // One response over several lines is one call, named by its message.id.
    const ids = events.map((x) => x.response_id).filter(Boolean);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, e.want.calls - 1, "the result counts one call more than the lines show");
  }
  // The subagent: its lines carry the Agent call's id; it is the agent Claude Code named it, working that call's task.
  assert.deepEqual({ ...one(db, `SELECT a.id, t.id AS task, t.title, t.status FROM build_agent_instances a JOIN tasks t ON t.id = a.task_id WHERE a.id NOT LIKE '%/main'`) }, {
    id: "a0122a74-998a-46ef-8793-308559460bb6/aa102de77e671cc06", task: "toolu_01WH5oCebDzRZ5aPkFGU1khi", title: "Report pwd output", status: "completed",
  });
  assert.deepEqual({ ...one(db, `SELECT tool, parent_tool_use_id, tool_category FROM tool_uses WHERE tool = 'Bash' AND execution_id = 'a0122a74-998a-46ef-8793-308559460bb6'`) }, { tool: "Bash", parent_tool_use_id: "toolu_01WH5oCebDzRZ5aPkFGU1khi", tool_category: "shell" });
  assert.equal(one(db, `SELECT tool_category FROM tool_uses WHERE tool = 'Agent'`)?.tool_category, "agent");
  // Lines without timestamps (an older client) take their neighbours'. Only one line here has one
  // (04:46:16.651); the result says the run took 10,203 ms, so it began at 04:46:06.448, not 0 ms before.
  assert.deepEqual({ ...one(db, `SELECT started_at, completed_at, status, cwd FROM task_list_execution_runs WHERE id = '1abc6c0c-a5ec-4803-ad95-7e3d42bcb980'`) }, {
    started_at: "2026-06-12T04:46:06.448Z", completed_at: "2026-06-12T04:46:16.651Z", status: "completed", cwd: "/private/tmp/claude-probe",
  });
  const v = await cli(["validate", "--all", "--json", "--db", db]);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
});

test("claude -p stream-json without any timestamp, cut short, failed, with a permission denial", async () => {
  const lines = [
    { type: "system", subtype: "init", session_id: "s-1", model: "claude-sonnet-4-5", cwd: "/w/app", tools: ["Bash"], uuid: "i-1" },
    { type: "assistant", session_id: "s-1", uuid: "a-1", parent_tool_use_id: null, message: { id: "msg_1", model: "claude-sonnet-4-5", role: "assistant", content: [{ type: "tool_use", id: "tu-1", name: "Bash", input: { command: "rm -rf build" } }], usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } } },
    { type: "user", session_id: "s-1", uuid: "u-1", parent_tool_use_id: null, message: { role: "user", content: [{ type: "tool_result", tool_use_id: "tu-1", is_error: true, content: "Permission to use Bash has been denied." }] } },
  ];
  const result = { type: "result", subtype: "error_max_turns", is_error: true, session_id: "s-1", duration_ms: 4000, num_turns: 1, total_cost_usd: 0.5, permission_denials: [{ tool_name: "Bash", tool_use_id: "tu-1", tool_input: {} }] };
  const file = writeJsonl(path.join(tmpDir(), "run.jsonl"), lines);
  const mtime = new Date("2026-05-05T12:00:00.000Z");
  fs.utimesSync(file, mtime, mtime);
  const cut = tmpDb();
  assert.equal((await cli(["ingest", file, "--db", cut])).code, 0);
  // Cut short: the run goes on; sonnet 4.5 from the table: (100 × 3 + 20 × 15) / 1e6.
  assert.deepEqual({ ...one(cut, `SELECT r.status, r.started_at, t.status AS turn, (SELECT cost_usd FROM llm_calls) AS cost FROM task_list_execution_runs r JOIN tasks t ON t.execution_id = r.id`) }, {
    status: "started", started_at: "2026-05-05T12:00:00.000Z", turn: "running", cost: 0.0006,
  });
  fs.appendFileSync(file, JSON.stringify(result) + "\n");
  fs.utimesSync(file, mtime, mtime);
  const r = await cli(["ingest", file, "--db", cut]);
  assert.equal(r.code, 0, r.stderr);
  // Without timestamps the run ends when the file was last written and began its duration before.
  assert.deepEqual({ ...one(cut, `SELECT status, started_at, completed_at, message FROM task_list_execution_runs`) }, {
    status: "failed", started_at: "2026-05-05T11:59:56.000Z", completed_at: "2026-05-05T12:00:00.000Z", message: "error_max_turns",
  });
  assert.deepEqual({ ...one(cut, `SELECT result_status, is_blocked, block_reason FROM tool_uses`) }, { result_status: "blocked", is_blocked: 1, block_reason: "permission denied for Bash" });
  assert.deepEqual({ ...one(cut, `SELECT COUNT(*) AS calls, SUM(cost_usd) AS cost FROM llm_calls`) }, { calls: 1, cost: 0.5 }, "the producer's total wins; the one call it covers takes it");
  assert.equal(one(cut, `SELECT status FROM tasks`)?.status, "failed");
});

test("a file read with the wrong --format is a failed source that names the format it is, leaves nothing (no made-up run), and is read right after", async () => {
  const db = tmpDb();
  const file = path.join(FIX, "claude-code", "marot-spotter", "short.jsonl");
  const wrong = await cli(["ingest", file, "--format", "codex", "--db", db]);
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /short\.jsonl: nothing written: read as codex \(--format\), none of its 15 lines is a record of that format; obs reads it as claude-code without --format/);
  assert.equal(fs.existsSync(db), false, "nothing written: no database made for it");
  const right = await cli(["ingest", file, "--db", db]);
  assert.equal(right.code, 0, right.stderr);
  assert.deepEqual(all(db, "SELECT id FROM task_list_execution_runs").map((r) => r.id), ["55604662-cf2a-4331-851a-ec234028f8ca"]);
  const again = await cli(["ingest", file, "--db", db]);
  assert.match(again.stderr, /1 already up to date/);
  // An obs stream forced through an adapter that would name a session of its own for it: no
  // such run is left behind, whichever adapter; read as what it is, it is the stream's run.
  const stream = writeJsonl(path.join(tmpDir(), "run.jsonl"), [
    { kind: "execution:status", execution_id: "exec-f", timestamp: "2026-01-16T09:00:00.000Z", status: "running" },
    { kind: "transcript:entry", execution_id: "exec-f", timestamp: "2026-01-16T09:00:01.000Z", sequence: 1, entry_type: "checkpoint", category: "lifecycle", summary: "one" },
  ]);
  for (const format of ["codex", "gemini-stream-json", "gemini-cli", "claude-code", "claude-stream-json"]) {
    const r = await cli(["ingest", stream, "--format", format, "--db", db]);
    assert.equal(r.code, 2, `${format}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`run\\.jsonl: nothing written: read as ${format} \\(--format\\), none of its 2 lines is a record of that format; obs reads it as obs's event stream without --format`));
    assert.doesNotMatch(r.stderr, /no session id/, "the note for a Claude Code file of summaries only is not given for a file of another kind");
  }
  assert.deepEqual(all(db, "SELECT id FROM task_list_execution_runs").map((r) => r.id), ["55604662-cf2a-4331-851a-ec234028f8ca"]);
  const back = await cli(["ingest", stream, "--db", db]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(one(db, "SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'exec-f'")!.n, 1);
  // A SQLite format forced on text: each file named, every one of them looked at.
  const ts = await cli(["ingest", stream, file, "--format", "trace-store", "--db", db]);
  assert.equal(ts.code, 2, ts.stderr);
  assert.match(ts.stderr, /run\.jsonl: nothing written: read as trace-store \(--format\), but it is no SQLite database; obs reads it as obs's event stream without --format/);
  assert.match(ts.stderr, /short\.jsonl: nothing written: read as trace-store \(--format\), but it is no SQLite database; obs reads it as claude-code without --format/);
  assert.doesNotMatch(ts.stderr, /SQLITE_NOTADB|file is not a database/);
  // Standard input with the right format forced reads as the file does.
  const stdin = await cli(["ingest", "-", "--format", "claude-code", "--db", tmpDb()], { stdin: fs.readFileSync(file, "utf8") });
  assert.equal(stdin.code, 0, stdin.stderr);
});
