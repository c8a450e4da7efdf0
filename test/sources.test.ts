/**
 * Where obs looks by itself (`obs ingest` and `obs ingest --follow` without a source, HOME,
 * CODEX_HOME and CLAUDE_CONFIG_DIR pointed at temp dirs), what it says of a file it cannot read,
 * and other tools' records on standard input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, BIN, cli, one, ROOT, spawn, spawnCli, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures");
const CODEX_FILE = "codemie-ai-codemie-code/rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl";
const GEMINI_FILE = "codemie-ai-codemie-code/session-2025-12-01T21-45-5b959dae.json";

/** A Claude Code session of three lines, in the format's shape. */
function claudeSession(id: string) {
  const base = { sessionId: id, cwd: "/w/app", version: "2.0.1", isSidechain: false };
  return [
    { ...base, type: "user", uuid: `${id}-u1`, parentUuid: null, timestamp: "2026-03-01T09:00:00.000Z", message: { role: "user", content: "run the tests" } },
    { ...base, type: "assistant", uuid: `${id}-a1`, parentUuid: `${id}-u1`, timestamp: "2026-03-01T09:00:02.000Z", message: { id: `msg-${id}`, model: "claude-haiku-4-5", role: "assistant", content: [{ type: "tool_use", id: `toolu-${id}`, name: "Bash", input: { command: "npm test" } }], usage: { input_tokens: 10, output_tokens: 5 } } },
    { ...base, type: "user", uuid: `${id}-u2`, parentUuid: `${id}-a1`, timestamp: "2026-03-01T09:00:05.000Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: `toolu-${id}`, content: "ok" }] } },
  ];
}

/** A home with each tool's records where the tool keeps them, and the files it keeps beside them. */
function machine(): string {
  const home = tmpDir("obs-home-");
  writeJsonl(path.join(home, ".claude", "projects", "-w-app", "cc-home.jsonl"), claudeSession("cc-home"));
  writeJsonl(path.join(home, ".config", "claude", "projects", "-w-app", "cc-xdg.jsonl"), claudeSession("cc-xdg"));
  fs.writeFileSync(path.join(home, ".claude", "settings.json"), "{}");
  const sessions = path.join(home, ".codex", "sessions", "2026", "01", "02");
  fs.mkdirSync(sessions, { recursive: true });
  fs.copyFileSync(path.join(FIX, "codex", CODEX_FILE), path.join(sessions, path.basename(CODEX_FILE)));
  fs.writeFileSync(path.join(home, ".codex", "history.jsonl"), JSON.stringify({ session_id: "x", ts: 1, text: "hi" }) + "\n");
  const chats = path.join(home, ".gemini", "tmp", "fb8e242a", "chats");
  fs.mkdirSync(chats, { recursive: true });
  fs.copyFileSync(path.join(FIX, "gemini-cli", GEMINI_FILE), path.join(chats, path.basename(GEMINI_FILE)));
  // Gemini CLI keeps a log of prompts and saved checkpoints beside the chats: not session recordings.
  fs.writeFileSync(path.join(home, ".gemini", "tmp", "fb8e242a", "logs.json"), JSON.stringify([{ sessionId: "5b959dae", messageId: 0, type: "user", message: "hi", timestamp: "2025-12-01T21:45:34.362Z" }]));
  fs.writeFileSync(path.join(home, ".gemini", "tmp", "fb8e242a", "checkpoint-x.json"), JSON.stringify([{ role: "user", parts: [{ text: "hi" }] }]));
  return home;
}

const EXECUTIONS = ["019b7f94-51b4-7593-922e-ba12b5b73b52", "5b959dae-8655-4cd1-b10f-720b8c336ea2", "cc-home", "cc-xdg"];

test("obs ingest without a source reads every agent's records where the tools keep them, and says which places it found", async () => {
  const home = machine();
  const db = path.join(tmpDir(), "obs.db");
  const r = await cli(["ingest", "--db", db], { env: { HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`reading Claude Code sessions in ${home}/\\.claude/projects \\(1 file\\), Claude Code sessions in ${home}/\\.config/claude/projects \\(1 file\\), Codex rollouts in ${home}/\\.codex/sessions \\(1 file\\), Gemini CLI sessions in ${home}/\\.gemini/tmp \\(1 file\\); not here: ${home}/\\.codex/archived_sessions`));
  assert.match(r.stderr, /ingested 4 sources/);
  assert.deepEqual(all(db, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((x) => x.id), EXECUTIONS);
  const again = await cli(["ingest", "--db", db], { env: { HOME: home } });
  assert.match(again.stderr, /4 already up to date/);

  // CLAUDE_CONFIG_DIR and CODEX_HOME say where those tools keep their records instead.
  const elsewhere = tmpDir("obs-cfg-");
  writeJsonl(path.join(elsewhere, "claude", "projects", "-p", "cc-cfg.jsonl"), claudeSession("cc-cfg"));
  const archived = path.join(elsewhere, "codex", "archived_sessions", "2026", "05", "11");
  fs.mkdirSync(archived, { recursive: true });
  const rollout = "codemie-ai-codemie-code/rollout-2026-05-11T13-28-45-019e1695-0522-7c83-8b39-0dd379793f80.jsonl";
  fs.copyFileSync(path.join(FIX, "codex", rollout), path.join(archived, path.basename(rollout)));
  const db2 = path.join(tmpDir(), "obs.db");
  const r2 = await cli(["ingest", "--db", db2], { env: { HOME: home, CLAUDE_CONFIG_DIR: path.join(elsewhere, "claude"), CODEX_HOME: path.join(elsewhere, "codex") } });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /archived Codex rollouts in .*\/codex\/archived_sessions \(1 file\)/);
  assert.deepEqual(all(db2, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((x) => x.id), ["019e1695-0522-7c83-8b39-0dd379793f80", "5b959dae-8655-4cd1-b10f-720b8c336ea2", "cc-cfg"]);
});

test("obs ingest without a source on a machine with no agent's records says where it looked and exits 2, as --follow does", async () => {
  const home = tmpDir("obs-empty-");
  const r = await cli(["ingest", "--db", path.join(home, "obs.db")], { env: { HOME: home } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^obs: nothing to ingest$/m);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, new RegExp(`none of the places agents keep their records is here \\(${home}/\\.claude/projects, ${home}/\\.config/claude/projects, ${home}/\\.codex/sessions, ${home}/\\.codex/archived_sessions, ${home}/\\.gemini/tmp\\); name a file or directory to ingest`));
  const follow = await cli(["ingest", "--follow", "--db", path.join(home, "obs.db")], { env: { HOME: home } });
  assert.equal(follow.code, 2);
  assert.match(follow.stderr, /nothing to follow/);
});

test("obs ingest without a source where the places are there but hold no records yet: exit 0, and --json still prints its statistics", async () => {
  const home = tmpDir("obs-fresh-");
  fs.mkdirSync(path.join(home, ".claude", "projects"), { recursive: true });
  const db = path.join(home, "obs.db");
  const r = await cli(["ingest", "--db", db], { env: { HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /reading Claude Code sessions in .*\.claude\/projects \(0 files\)/);
  assert.match(r.stderr, /^obs: no records in them yet$/m);
  const j = await cli(["ingest", "--json", "--db", db], { env: { HOME: home } });
  assert.equal(j.code, 0, j.stderr);
  const stats = JSON.parse(j.stdout);
  assert.equal(stats.sources, 0);
  assert.equal(stats.events, 0);
  assert.deepEqual(stats.sources_detail, []);
  assert.deepEqual(stats.failed_sources, []);
  assert.ok(!fs.existsSync(db), "nothing read, nothing made");
});

test("obs ingest --follow without a source follows every place: a rollout as it grows, a recording that appears", async (t) => {
  const home = machine();
  const db = path.join(tmpDir(), "obs.db");
  const rollout = fs.readdirSync(path.join(home, ".codex", "sessions", "2026", "01", "02")).map((f) => path.join(home, ".codex", "sessions", "2026", "01", "02", f))[0]!;
  const src = fs.readFileSync(rollout, "utf8").trimEnd().split("\n");
  fs.writeFileSync(rollout, src.slice(0, 12).join("\n") + "\n"); // up to the first call's output
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", "--db", db], { env: { PATH: process.env.PATH, HOME: home, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const waitFor = async (sql: string, want: unknown) => {
    let got: unknown;
    for (let i = 0; i < 200; i++) {
      try {
        got = fs.existsSync(db) ? one(db, sql)?.n : undefined;
      } catch {
        got = undefined; // the follower has not made its tables yet
      }
      if (got === want) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(got, want, sql);
  };
  await waitFor(`SELECT COUNT(*) AS n FROM task_list_execution_runs`, 4);
  await waitFor(`SELECT COUNT(*) AS n FROM tool_uses WHERE execution_id = '019b7f94-51b4-7593-922e-ba12b5b73b52'`, 1);
  fs.writeFileSync(rollout, src.join("\n") + "\n");
  await waitFor(`SELECT COUNT(*) AS n FROM tool_uses WHERE execution_id = '019b7f94-51b4-7593-922e-ba12b5b73b52'`, 3);
  const chats = path.join(home, ".gemini", "tmp", "other", "chats");
  fs.mkdirSync(chats, { recursive: true });
  writeJsonl(path.join(chats, "session-2026-04-01T10-00-newone00.jsonl"), [
    { sessionId: "new-gemini", projectHash: "h", startTime: "2026-04-01T10:00:00.000Z", lastUpdated: "2026-04-01T10:00:00.000Z", kind: "main" },
    { id: "u1", type: "user", timestamp: "2026-04-01T10:00:01.000Z", content: [{ text: "hello" }] },
  ]);
  await waitFor(`SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = 'new-gemini'`, 1);
  child.kill("SIGINT");
  assert.equal(await new Promise((r) => child.on("exit", r)), 0);
  assert.match(stderr, /following Claude Code sessions in .*\.claude\/projects, .*Gemini CLI sessions in .*\.gemini\/tmp; not here: .*archived_sessions/);
  assert.doesNotMatch(stderr, /logs\.json|checkpoint|history\.jsonl/, "what the tools keep beside their records is not followed, not even noted");
});

test("--follow of a named file obs cannot read: alone it exits 2 at once, as plain ingest does; beside a readable one it is said once and fails the follow", async (t) => {
  const dir = tmpDir();
  const odd = writeJsonl(path.join(dir, "app-log.jsonl"), [{ ts: 1, level: "info", msg: "up" }]);
  const alone = spawnCli(["ingest", "--follow", odd, "--db", path.join(dir, "alone.db")]);
  assert.equal(alone.code, 2, alone.stderr);
  assert.equal(alone.stdout, "");
  assert.match(alone.stderr, /^obs: .*app-log\.jsonl: not a format obs reads \(its first line has the keys ts, level, msg\); .*--format obs\|/);
  assert.match(alone.stderr, /nothing else to follow/);

  const good = writeJsonl(path.join(dir, "good.jsonl"), [{ kind: "execution:status", execution_id: "f-1", timestamp: "2026-01-01T00:00:00.000Z", status: "started" }]);
  const db = path.join(dir, "both.db");
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", odd, good, "--db", db], { env: { PATH: process.env.PATH, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const stored = () => {
    try {
      return fs.existsSync(db) && Number(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = 'f-1'`)?.n) === 1;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 200 && !stored(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(stored(), stderr);
  await new Promise((r) => setTimeout(r, 300)); // several more looks: still said once
  child.kill("SIGINT");
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  assert.equal(code, 2, stderr);
  const said = stderr.split("\n").filter((l) => l.includes("app-log.jsonl: not a format obs reads"));
  assert.equal(said.length, 2, `said when found and named again in the closing report:\n${stderr}`);
  assert.match(said[0]!, /; following the rest$/);
  assert.match(stderr, /followed 2 sources \(1 failed\)/);
});

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
    // The formats obs reads are listed once, for the first such file, not again for each.
    assert.equal(r.stderr.split("; obs reads obs event streams").length - 1, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${text}: not a format obs reads \\(its first line is not JSON \\(# my notes\\)\\); --format names one of the formats above\n`));
    assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = 'ok-1'`)?.n, 1, "the readable source still went in");
  }
  // A script tells a file of no known format from one that failed otherwise.
  const j = await cli(["ingest", odd, good, "--db", tmpDb(), "--json"]);
  assert.equal(j.code, 2);
  const detail = (JSON.parse(j.stdout) as { sources_detail: { source: string; unrecognised?: boolean }[] }).sources_detail;
  assert.deepEqual(detail.map((d) => [path.basename(d.source), d.unrecognised ?? false]), [["app-log.jsonl", true], ["good.jsonl", false]]);
  // A file of obs's own format whose every line is bad: --skip-invalid has nothing to write, and says so.
  const bad = writeJsonl(path.join(dir, "bad.jsonl"), [{ kind: "tool:start", execution_id: "b" }, { kind: "tool:end", execution_id: "b" }]);
  const r = await cli(["ingest", bad, "--db", tmpDb(), "--skip-invalid"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${bad}: nothing written: none of its 2 lines could be read`));
  // So with another format, named by --format.
  const junk = path.join(dir, "junk.jsonl");
  fs.writeFileSync(junk, "nope\n{half\n");
  const forcedJunk = await cli(["ingest", junk, "--format", "claude-code", "--db", tmpDb(), "--skip-invalid"]);
  assert.equal(forcedJunk.code, 2);
  assert.match(forcedJunk.stderr, new RegExp(`${junk}: nothing written: none of its 2 lines could be read as claude-code`));
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
  // A sidecar beside a session file (Claude Code's agent-x.meta.json) goes with it, unremarked.
  fs.writeFileSync(path.join(dir, "logs", "chat.meta.json"), JSON.stringify({ agentType: "x" }));
  fs.writeFileSync(path.join(dir, "logs", "chat.jsonl"), "");
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

test("a binary file is named as binary with its first bytes, never echoed to the terminal", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "core.dat");
  fs.writeFileSync(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x1b, 0x5b, 0x32, 0x4a, 0x0a, 0x7b, 0x7d]));
  const r = await cli(["ingest", file, "--db", path.join(dir, "obs.db")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /core\.dat: not a format obs reads \(binary, not text \(it starts with the bytes 7f 45 4c 46\)\)/);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(r.stderr, /[\x00-\x08\x0b-\x1f\x7f]/, "no control bytes reach the terminal");
});

test("an ingest that writes no source leaves no database it made behind; one that was there stays", async () => {
  const dir = tmpDir();
  const bad = path.join(dir, "n.jsonl");
  fs.writeFileSync(bad, "hello\n");
  const r = spawnCli(["ingest", bad], { cwd: dir });
  assert.equal(r.code, 2);
  assert.deepEqual(fs.readdirSync(dir), ["n.jsonl"], "no obs.db, -wal or -shm made for nothing");
  // A database that was there is kept, whatever the ingest wrote.
  const good = writeJsonl(path.join(dir, "good.jsonl"), [{ kind: "execution:status", execution_id: "e", timestamp: "2026-01-16T09:00:00.000Z", status: "running" }]);
  assert.equal(spawnCli(["ingest", good], { cwd: dir }).code, 0);
  assert.equal(spawnCli(["ingest", bad], { cwd: dir }).code, 2);
  assert.equal(one(path.join(dir, "obs.db"), `SELECT COUNT(*) AS n FROM task_list_execution_runs`)!.n, 1);
});

test("--follow of a Gemini CLI recording caught while it is rewritten waits for it whole: no bad lines, and it keeps being followed", async (t) => {
  const dir = tmpDir();
  const chats = path.join(dir, "proj", "chats");
  fs.mkdirSync(chats, { recursive: true });
  const full = JSON.parse(fs.readFileSync(path.join(FIX, "gemini-cli", GEMINI_FILE), "utf8")) as { messages: unknown[] };
  const file = path.join(chats, "session-x.json");
  fs.writeFileSync(file, JSON.stringify({ ...full, messages: full.messages.slice(0, 6) }, null, 2));
  // What the finished recording holds, read once into a database of its own.
  const whole = path.join(dir, "whole.db");
  const text = JSON.stringify(full, null, 2);
  const once = path.join(dir, "once", "session-x.json");
  fs.mkdirSync(path.dirname(once));
  fs.writeFileSync(once, text);
  assert.equal((await cli(["ingest", once, "--db", whole])).code, 0);
  const want = Number(one(whole, `SELECT COUNT(*) AS n FROM tool_uses`)!.n);
  assert.ok(want > 0);

  const db = path.join(dir, "obs.db");
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", path.join(dir, "proj"), "--db", db], { env: { PATH: process.env.PATH, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const count = () => {
    try {
      return fs.existsSync(db) ? Number(one(db, `SELECT COUNT(*) AS n FROM tool_uses`)?.n) : -1;
    } catch {
      return -1;
    }
  };
  for (let i = 0; i < 200 && count() < 1; i++) await new Promise((r) => setTimeout(r, 50));
  // Gemini CLI rewrites the file whole: the follower looks while only its first half is there.
  fs.writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
  await new Promise((r) => setTimeout(r, 600));
  fs.writeFileSync(file, text);
  for (let i = 0; i < 200 && count() !== want; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(count(), want, stderr);
  assert.doesNotMatch(stderr, /not JSON|stopped following|nothing written/);
  child.kill("SIGINT");
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  assert.equal(code, 0, stderr);
});
