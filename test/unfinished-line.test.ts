/**
 * A file of lines another tool is still writing ends in a line without its newline. As obs's
 * own stream does, the line-based formats (Claude Code, Codex, Gemini CLI .jsonl, stream-json)
 * leave such a last line for later: it is not read now, one note on stderr says so, and the
 * next ingest once it is finished reads it — adding nothing twice. A last line that is complete
 * JSON without a newline is read now. Standard input cut inside its last line is read without
 * it. A whole document (a Gemini CLI .json recording, a JSON array) cut off at its end waits
 * likewise; one that closes and does not parse fails, in one line. Real files in temp dirs;
 * the expected line counts are counted in the tests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, cli, ROOT, spawnCli, tmpDb, tmpDir } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures");
const NOTE = "its last line is not finished yet; it is read when it is";

/** Every row of the tables ingest writes, as comparable text (where it came from and when left out). */
function dump(db: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of ["task_list_execution_runs", "transcript_entries", "tool_uses", "tasks", "build_agent_instances", "agent_heartbeats", "events", "llm_calls"]) {
    out[t] = all(db, `SELECT * FROM ${t}`).map((r) => {
      const { source: _s, created_at: _c, ...rest } = r as Record<string, unknown>;
      return JSON.stringify(rest);
    }).sort();
  }
  return out;
}

/**
 * Asserts a database read while its file grew holds what one read of the finished file holds:
 * every row the same, nothing twice. A heartbeat is a row of its time, so the heartbeat of where
 * the session ended when it was first read stays, as it does for any session read while it grows.
 */
function assertSame(grown: string, fresh: string, label: string): void {
  const a = dump(grown);
  const b = dump(fresh);
  for (const t of Object.keys(b)) {
    const short = (rows: string[]) => rows.map((r) => r.slice(0, 200));
    if (t === "agent_heartbeats") {
      const missing = b[t]!.filter((r) => !a[t]!.includes(r));
      assert.deepEqual(short(missing), [], `${label}: ${t} missing`);
      continue;
    }
    assert.deepEqual(short(a[t]!.filter((r) => !b[t]!.includes(r))), [], `${label}: ${t} only in the database read while the file grew`);
    assert.deepEqual(short(b[t]!.filter((r) => !a[t]!.includes(r))), [], `${label}: ${t} missing`);
    assert.equal(a[t]!.length, b[t]!.length, `${label}: ${t} rows`);
  }
}

/** Lines ended by a newline that hold something: what obs reads of a file still being written. */
const wholeLines = (text: string) => text.split("\n").slice(0, -1).filter((l) => l.trim() !== "").length;
const count = (s: string, part: string) => s.split(part).length - 1;

/** A file cut in the middle of its last line, as it is while its writer is still writing that line. */
function cutInLastLine(full: string): string {
  const body = full.endsWith("\n") ? full.slice(0, -1) : full;
  const start = body.lastIndexOf("\n") + 1;
  const cut = body.slice(0, start + Math.floor((body.length - start) / 2));
  assert.throws(() => JSON.parse(cut.slice(start)), "the cut leaves the last line unfinished");
  return cut;
}

test("a Claude Code session whose last line is still being written: the lines before it are written, it waits, one note says so", () => {
  // The case as a user meets it: `head -c -300 tool_heavy.jsonl > tool_heavy.jsonl`.
  const full = fs.readFileSync(path.join(FIX, "claude-code", "marot-spotter", "tool_heavy.jsonl"));
  const cut = full.subarray(0, full.length - 300);
  assert.throws(() => JSON.parse(cut.toString("utf8", cut.lastIndexOf(0x0a) + 1)));
  const file = path.join(tmpDir(), "project", "tool_heavy.jsonl");
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, cut);
  const db = tmpDb();
  let r = spawnCli(["ingest", "--db", db, "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(count(r.stderr, NOTE), 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^obs: ${file}: ${NOTE}$`, "m"));
  assert.doesNotMatch(r.stderr, /not JSON|bad line|nothing written/);
  const stats = JSON.parse(r.stdout) as { lines: number; rejected: number };
  assert.deepEqual([stats.lines, stats.rejected], [wholeLines(cut.toString()), 0]);

  // Still unfinished: nothing more to read, and the note again.
  r = spawnCli(["ingest", "--db", db, file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(count(r.stderr, NOTE), 1, r.stderr);

  // Finished: read, and the session is the one a fresh read of the finished file makes.
  fs.appendFileSync(file, full.subarray(cut.length));
  r = spawnCli(["ingest", "--db", db, "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, new RegExp(NOTE));
  assert.equal(JSON.parse(r.stdout).lines, wholeLines(full.toString()));
  const fresh = tmpDb();
  assert.equal(spawnCli(["ingest", "--db", fresh, file]).code, 0);
  assertSame(db, fresh, "tool_heavy.jsonl");
});

test("every line-based format leaves an unfinished last line for the next ingest, which adds nothing twice", async () => {
  const cases = [
    "codex/codemie-ai-codemie-code/rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl",
    "codex/Mai0313-VibeCodingTracker/test_conversation_oai.jsonl",
    "gemini-cli/Mai0313-VibeCodingTracker/test_conversation_gemini.jsonl",
    "claude-stream-json/on-keyday-agent-harness/claude-stream-json.jsonl",
    "claude-stream-json/HamzaAlayed-laravel-claude-agents/stream-json-sample.jsonl",
    "claude-code/claude-code-viewer/1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl",
  ];
  for (const rel of cases) {
    const full = fs.readFileSync(path.join(FIX, rel), "utf8");
    const file = path.join(tmpDir(), "project", path.basename(rel));
    fs.mkdirSync(path.dirname(file));
    const cut = cutInLastLine(full);
    fs.writeFileSync(file, cut);
    const db = tmpDb();
    let r = await cli(["ingest", file, "--db", db, "--json"]);
    assert.equal(r.code, 0, `${rel}: ${r.stderr}`);
    assert.equal(count(r.stderr, NOTE), 1, `${rel}: ${r.stderr}`);
    let stats = JSON.parse(r.stdout) as { lines: number; rejected: number };
    assert.deepEqual([stats.lines, stats.rejected], [wholeLines(cut), 0], rel);

    fs.writeFileSync(file, full);
    r = await cli(["ingest", file, "--db", db, "--json"]);
    assert.equal(r.code, 0, `${rel}: ${r.stderr}`);
    assert.equal(count(r.stderr, NOTE), 0, `${rel}: ${r.stderr}`);
    stats = JSON.parse(r.stdout);
    assert.deepEqual([stats.lines, stats.rejected], [full.split("\n").filter((l) => l.trim() !== "").length, 0], rel);
    const fresh = tmpDb();
    assert.equal((await cli(["ingest", file, "--db", fresh])).code, 0);
    assertSame(db, fresh, rel);
  }
});

test("a last line without its newline that is complete JSON is read now, without a note", async () => {
  const full = fs.readFileSync(path.join(FIX, "claude-code", "marot-spotter", "tool_heavy.jsonl"), "utf8");
  assert.ok(full.endsWith("\n"));
  const file = path.join(tmpDir(), "tool_heavy.jsonl");
  fs.writeFileSync(file, full.slice(0, -1));
  const db = tmpDb();
  const r = await cli(["ingest", file, "--db", db, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, new RegExp(NOTE));
  assert.equal(JSON.parse(r.stdout).lines, full.split("\n").filter((l) => l.trim() !== "").length);
});

test("a whole document cut off at its end waits as an unfinished line does: a Gemini CLI .json recording and a JSON array, read once whole", async () => {
  const gemini = fs.readFileSync(path.join(FIX, "gemini-cli", "codemie-ai-codemie-code", "session-2025-12-01T21-45-5b959dae.json"), "utf8");
  const stream = fs.readFileSync(path.join(FIX, "claude-stream-json", "on-keyday-agent-harness", "claude-stream-json.jsonl"), "utf8");
  const array = JSON.stringify(stream.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)), null, 1);
  // Cut mid-way, and cut just after an inner `}` (its last character is then the one a whole document ends with).
  const afterBrace = (t: string) => t.slice(0, t.indexOf("}", Math.floor(t.length / 2)) + 1);
  for (const [name, full, cut] of [
    ["session.json", gemini, gemini.slice(0, Math.floor(gemini.length / 2))],
    ["session.json", gemini, afterBrace(gemini)],
    ["stream.json", array, array.slice(0, Math.floor(array.length / 2))],
    ["stream.json", array, afterBrace(array)],
  ] as const) {
    assert.throws(() => JSON.parse(cut));
    const file = path.join(tmpDir(), name);
    fs.writeFileSync(file, cut);
    const db = tmpDb();
    let r = await cli(["ingest", file, "--db", db]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(count(r.stderr, `${file}: a JSON document that ends before it closes (cut off, or still being written); it is read when it is whole`), 1, r.stderr);
    assert.match(r.stderr, /ingested 1 source \(1 not whole yet\): 0 lines, 0 events/);
    assert.deepEqual(all(db, `SELECT COUNT(*) AS n FROM ingest_log`), [{ n: 0 }], "nothing of it is logged: the next ingest reads it");
    fs.writeFileSync(file, full);
    r = await cli(["ingest", file, "--db", db]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /not whole/);
    const fresh = tmpDb();
    assert.equal((await cli(["ingest", file, "--db", fresh])).code, 0);
    assertSame(db, fresh, name);
  }
  // Standard input has ended: a document cut off there fails.
  const r = spawnCli(["ingest", "-", "--db", tmpDb()], { input: gemini.slice(0, Math.floor(gemini.length / 2)) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^-:1: a JSON document that ends before it closes/m);
});

test("a whole document that closes and does not parse fails with one line naming where, not a line for each of its lines", () => {
  const gemini = fs.readFileSync(path.join(FIX, "gemini-cli", "codemie-ai-codemie-code", "session-2025-12-01T21-45-5b959dae.json"), "utf8");
  // A stray character after a value on line L of the pretty-printed file.
  const at = gemini.indexOf('",\n', 5000) + 1;
  const line = gemini.slice(0, at).split("\n").length;
  const file = path.join(tmpDir(), "session.json");
  fs.writeFileSync(file, gemini.slice(0, at) + "@" + gemini.slice(at));
  const r = spawnCli(["ingest", "--db", tmpDb(), file]);
  assert.equal(r.code, 2, r.stderr);
  const about = r.stderr.split("\n").filter((l) => l.startsWith(`${file}:`));
  assert.deepEqual(about.length, 1, r.stderr);
  assert.match(about[0]!, new RegExp(`^${file}:${line}: not one JSON document: .*after property value`));
  assert.doesNotMatch(r.stderr, /more bad lines|not whole/);
});

test("standard input that ends inside its last line is read without it, as the same bytes in a file are, with a note naming the line", async () => {
  for (const rel of ["claude-stream-json/on-keyday-agent-harness/claude-stream-json.jsonl", "codex/Mai0313-VibeCodingTracker/test_conversation_oai.jsonl"]) {
    const cut = cutInLastLine(fs.readFileSync(path.join(FIX, rel), "utf8"));
    const piped = tmpDb();
    const r = spawnCli(["ingest", "-", "--db", piped, "--json"], { input: cut });
    assert.equal(r.code, 0, `${rel}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^obs: -: its last line \\(${cut.split("\n").length}\\) ends cut off, with no newline and not complete JSON; left out, the lines before it are read$`, "m"));
    assert.deepEqual([JSON.parse(r.stdout).lines, JSON.parse(r.stdout).rejected], [wholeLines(cut), 0], rel);
    const file = path.join(tmpDir(), path.basename(rel));
    fs.writeFileSync(file, cut);
    const fromFile = tmpDb();
    assert.equal((await cli(["ingest", file, "--db", fromFile])).code, 0);
    assertSame(piped, fromFile, rel);
  }
  // obs's own stream too; the same cut stream again adds nothing.
  const own = '{"kind":"execution:status","execution_id":"cut-1","timestamp":"2026-01-01T00:00:00.000Z","status":"started"}\n{"kind":"execution:sta';
  const db = tmpDb();
  for (const again of [false, true]) {
    const r = spawnCli(["ingest", "-", "--db", db], { input: own });
    assert.equal(r.code, 0, r.stderr);
    if (again) assert.match(r.stderr, /already up to date/);
  }
  assert.deepEqual(all(db, `SELECT id FROM task_list_execution_runs`), [{ id: "cut-1" }]);
  // A stream of one line, cut, has nothing before it: that line is read as it is, and is bad.
  const one = spawnCli(["ingest", "-", "--db", tmpDb()], { input: '{"kind":"execution:sta' });
  assert.equal(one.code, 2, one.stderr);
});
