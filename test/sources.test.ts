/**
 * What obs says of a file it cannot read, other tools' records on standard input, and
 * JSON-array transcripts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, cli, one, ROOT, spawnCli, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures");
const CODEX_FILE = "codemie-ai-codemie-code/rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl";

test("a file obs cannot read: one line saying what it looks like, what obs reads and --format; exit 2, --skip-invalid or not", async () => {
  const dir = tmpDir();
  const lines = Array.from({ length: 50 }, (_, i) => ({ ts: i, level: "info", msg: `line ${i}` }));
  const odd = writeJsonl(path.join(dir, "app-log.jsonl"), lines);
  const text = path.join(dir, "notes.jsonl");
  fs.writeFileSync(text, "# my notes\nnot json at all\n");
  const good = writeJsonl(path.join(dir, "good.jsonl"), [{ kind: "execution:status", execution_id: "ok-1", timestamp: "2026-01-01T00:00:00.000Z", status: "started" }]);
  for (const extra of [[], ["--skip-invalid"]]) {
    const db = tmpDb();
    const r = await cli(["ingest", odd, text, good, "--db", db, ...extra]);
    assert.equal(r.code, 2, extra.join(" "));
    const about = r.stderr.split("\n").filter((l) => l.includes(odd));
    assert.equal(about.length, 1, `one line for the file, not one per line:\n${r.stderr}`);
    assert.match(about[0]!, /not a format obs reads \(its first line has the keys ts, level, msg\); obs reads obs event streams, .*OpenAI Codex CLI rollouts, Gemini CLI session recordings, .*Claude Code sessions, .*JSON arrays of their lines; if it is one of them, say which with --format obs\|trace-store\|codex\|/);
    assert.match(r.stderr, new RegExp(`${text}: not a format obs reads \\(its first line is not JSON \\(# my notes\\)\\)`));
    assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = 'ok-1'`)?.n, 1, "the readable source still went in");
  }
  // A file of obs's own format whose every line is bad: --skip-invalid has nothing to write, and says so.
  const bad = writeJsonl(path.join(dir, "bad.jsonl"), [{ kind: "tool:start", execution_id: "b" }, { kind: "tool:end", execution_id: "b" }]);
  const r = await cli(["ingest", bad, "--db", tmpDb(), "--skip-invalid"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${bad}: nothing written: none of its 2 lines could be read`));
  // --format names the format when detection cannot tell.
  const forced = await cli(["ingest", path.join(FIX, "codex", CODEX_FILE), "--format", "codex", "--db", tmpDb()]);
  assert.equal(forced.code, 0, forced.stderr);
});

test("another tool's record on standard input: claude -p … | obs ingest -", () => {
  const stream = fs.readFileSync(path.join(FIX, "claude-stream-json", "on-keyday-agent-harness", "claude-stream-json.jsonl"), "utf8");
  const db = tmpDb();
  const r = spawnCli(["ingest", "-", "--db", db], { input: stream });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual({ ...one(db, `SELECT COUNT(*) AS calls, ROUND(SUM(cost_usd), 8) AS cost FROM llm_calls`) }, { calls: 3, cost: 0.0163509 });
  const again = spawnCli(["ingest", "-", "--db", db], { input: stream });
  assert.match(again.stderr, /already up to date/);
  const unknown = spawnCli(["ingest", "-", "--db", db], { input: '{"a":1}\n' });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /-: not a format obs reads \(its first line has the keys a\)/);
});

test("JSON-array transcripts: a Claude Agent SDK message list and a Claude Code hook's chat.json, pretty-printed or not, found by a walk", async () => {
  const dir = tmpDir();
  const stream = fs.readFileSync(path.join(FIX, "claude-stream-json", "HamzaAlayed-laravel-claude-agents", "stream-json-subagent.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
  fs.writeFileSync(path.join(dir, "messages.json"), JSON.stringify(stream, null, 2));
  const cc = [
    { type: "user", sessionId: "cc-1", uuid: "u1", parentUuid: null, timestamp: "2026-01-16T09:00:00.000Z", cwd: "/w", message: { role: "user", content: "list files" } },
    { type: "assistant", sessionId: "cc-1", uuid: "a1", parentUuid: "u1", timestamp: "2026-01-16T09:00:02.000Z", message: { id: "msg_1", model: "claude-haiku-4-5", role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls" } }], usage: { input_tokens: 10, output_tokens: 5 } } },
    { type: "user", sessionId: "cc-1", uuid: "u2", parentUuid: "a1", timestamp: "2026-01-16T09:00:03.000Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "a\nb" }] } },
  ];
  fs.mkdirSync(path.join(dir, "logs"));
  fs.writeFileSync(path.join(dir, "logs", "chat.json"), JSON.stringify(cc));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "not-a-record" }));
  const db = tmpDb();
  const r = await cli(["ingest", dir, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /passed over 1 \*\.json file .*package\.json/);
  // The same run as its stream-json file (test/formats.test.ts): 2 tool calls, 4 model calls, the producer's cost.
  assert.deepEqual({ ...one(db, `SELECT (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @id) AS tools, COUNT(*) AS calls, ROUND(SUM(cost_usd), 8) AS cost FROM llm_calls WHERE execution_id = @id`, { id: "a0122a74-998a-46ef-8793-308559460bb6" }) }, { tools: 2, calls: 4, cost: 0.33805725 });
  assert.deepEqual({ ...one(db, `SELECT COUNT(*) AS tools, MAX(result_status) AS status FROM tool_uses WHERE execution_id = 'cc-1'`) }, { tools: 1, status: "done" });
  // An array of obs's own events, grown: only the new elements are folded.
  const file = path.join(dir, "events.json");
  const ev = (s: number, summary: string) => ({ kind: "transcript:entry", execution_id: "arr-1", timestamp: `2026-01-16T10:00:0${s}.000Z`, entry_type: "discovery", category: "note", summary });
  fs.writeFileSync(file, JSON.stringify([ev(1, "one"), ev(2, "two")], null, 2));
  await cli(["ingest", file, "--db", db]);
  fs.writeFileSync(file, JSON.stringify([ev(1, "one"), ev(2, "two"), ev(3, "three")], null, 2));
  const grown = await cli(["ingest", file, "--db", db]);
  assert.equal(grown.code, 0, grown.stderr);
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries WHERE execution_id = 'arr-1' ORDER BY sequence`).map((x) => x.summary), ["one", "two", "three"]);
  // A bad element is named by its place in the array.
  fs.writeFileSync(file, JSON.stringify([ev(1, "one"), { kind: "transcript:entry" }]));
  const bad = await cli(["ingest", file, "--db", tmpDb()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`${file}:2: missing field execution_id`));
});
