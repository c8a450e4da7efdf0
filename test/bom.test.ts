/**
 * A UTF-8 byte-order mark (EF BB BF, which Windows editors and tools put before text) is no part
 * of a file's first line, nor of standard input's: in every format the file reads exactly as it
 * does without one — the same ids, the same counts, no bad line — and the byte offsets obs
 * keeps to read a file on from where it stopped still count the mark. Real files in temp dirs;
 * the expected ids and counts are read from the fixtures by the tests themselves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { all, cli, one, ROOT, spawnCli, tableRows, tmpDb, tmpDir } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures");
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Every row of the tables ingest writes, as comparable text. */
const dump = (db: string) =>
  tableRows(db, ["task_list_execution_runs", "transcript_entries", "tool_uses", "tasks", "build_agent_instances", "agent_heartbeats", "events", "llm_calls"]);

/** Non-blank lines of a text: what a line-based reader counts. */
const lineCount = (text: string) => text.split("\n").filter((l) => l.trim() !== "").length;

function write(dir: string, name: string, content: Buffer | string, bom: boolean): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, bom ? Buffer.concat([BOM, Buffer.from(content)]) : content);
  return file;
}

function obsLine(i: number, exec = "bom-run"): string {
  return JSON.stringify({ kind: "transcript:entry", execution_id: exec, timestamp: `2026-01-16T09:30:${String(i).padStart(2, "0")}Z`, entry_type: "discovery", category: "note", summary: `line ${i}` });
}

test("a Codex rollout with a byte-order mark is read whole under its session's id, and a clean copy read later is the same run", () => {
  const src = path.join(FIX, "codex", "codemie-ai-codemie-code", "rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl");
  const text = fs.readFileSync(src, "utf8");
  const meta = JSON.parse(text.split("\n")[0]!) as { type: string; payload: { id: string } };
  assert.equal(meta.type, "session_meta");
  const db = tmpDb();
  const file = write(tmpDir(), "r.jsonl", text, true);
  const r = spawnCli(["ingest", "--db", db, "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /not JSON|bad line|\ufeff/);
  const stats = JSON.parse(r.stdout) as { lines: number; rejected: number };
  assert.equal(stats.lines, lineCount(text));
  assert.equal(stats.rejected, 0);
  const runs = () => all(db, `SELECT id FROM task_list_execution_runs`).map((row) => row.id);
  assert.deepEqual(runs(), [meta.payload.id]);
  const before = dump(db);
  const clean = spawnCli(["ingest", "--db", db, src]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(runs(), [meta.payload.id]);
  assert.deepEqual(dump(db), before);
});

test("every format reads the same with a byte-order mark as without one: files, JSON arrays and standard input", async () => {
  const read = (rel: string) => fs.readFileSync(path.join(FIX, rel));
  const stream = read("claude-stream-json/on-keyday-agent-harness/claude-stream-json.jsonl");
  const geminiJson = read("gemini-cli/codemie-ai-codemie-code/session-2025-12-01T21-45-5b959dae.json");
  const obs = Array.from({ length: 5 }, (_, i) => obsLine(i + 1)).join("\n") + "\n";
  const asArray = (text: Buffer | string) => JSON.stringify(String(text).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)), null, 2);
  const cases: { name: string; content: Buffer | string; lines: number; stdin?: boolean }[] = [
    { name: "tool_heavy.jsonl", content: read("claude-code/marot-spotter/tool_heavy.jsonl"), lines: 0 },
    { name: "test_conversation_oai.jsonl", content: read("codex/Mai0313-VibeCodingTracker/test_conversation_oai.jsonl"), lines: 0 },
    // A whole-document recording counts itself and each message.
    { name: "session.json", content: geminiJson, lines: 1 + new Set((JSON.parse(String(geminiJson)) as { messages: { id: string }[] }).messages.map((m) => m.id)).size },
    { name: "test_conversation_gemini.jsonl", content: read("gemini-cli/Mai0313-VibeCodingTracker/test_conversation_gemini.jsonl"), lines: 0 },
    { name: "claude-stream-json.jsonl", content: stream, lines: 0 },
    { name: "events.jsonl", content: obs, lines: 0 },
    { name: "events-array.json", content: asArray(obs), lines: 5 },
    { name: "stream-array.json", content: asArray(stream), lines: lineCount(String(stream)) },
    { name: "stdin-obs", content: obs, lines: 0, stdin: true },
    { name: "stdin-stream", content: stream, lines: 0, stdin: true },
  ];
  for (const c of cases) {
    const expectedLines = c.lines || lineCount(String(c.content));
    const dbs: string[] = [];
    const stats: { lines: number; events: number; rejected: number }[] = [];
    for (const bom of [false, true]) {
      const db = tmpDb();
      dbs.push(db);
      // The same name in folders of the same name: what a reader takes from a file's path is the same.
      const r = c.stdin
        ? await cli(["ingest", "-", "--db", db, "--json"], { stdin: (bom ? "\ufeff" : "") + String(c.content) })
        : await cli(["ingest", write(path.join(tmpDir(), "project"), c.name, c.content, bom), "--db", db, "--json"]);
      assert.equal(r.code, 0, `${c.name} (mark: ${bom}): ${r.stderr}`);
      stats.push(JSON.parse(r.stdout));
    }
    assert.equal(stats[0]!.lines, expectedLines, `${c.name}: lines without the mark`);
    assert.equal(stats[1]!.lines, expectedLines, `${c.name}: lines with the mark`);
    assert.equal(stats[1]!.rejected, 0, c.name);
    assert.ok(stats[1]!.events > 0, c.name);
    assert.equal(stats[1]!.events, stats[0]!.events, c.name);
    assert.deepEqual(dump(dbs[1]!), dump(dbs[0]!), c.name);
  }
});

test("obs's stream with a byte-order mark is read on from where it stopped: the offsets and the hash count the mark", () => {
  const dir = tmpDir();
  const db = tmpDb();
  const file = write(dir, "events.jsonl", [1, 2, 3].map((i) => obsLine(i)).join("\n") + "\n", true);
  let r = spawnCli(["ingest", "--db", db, "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).lines, 3);
  const log = () => one(db, `SELECT bytes_consumed, content_hash FROM ingest_log`) as { bytes_consumed: number; content_hash: string };
  const sha = () => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  assert.deepEqual(log(), { bytes_consumed: fs.statSync(file).size, content_hash: sha() });
  fs.appendFileSync(file, [4, 5].map((i) => obsLine(i)).join("\n") + "\n");
  r = spawnCli(["ingest", "--db", db, "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /changed since/);
  assert.equal(JSON.parse(r.stdout).lines, 2);
  assert.deepEqual(log(), { bytes_consumed: fs.statSync(file).size, content_hash: sha() });
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries ORDER BY timestamp`).map((e) => e.summary), ["line 1", "line 2", "line 3", "line 4", "line 5"]);
  // A file of one line without its newline: the mark is counted when that line is read.
  const single = write(dir, "single.jsonl", obsLine(9, "single"), true);
  r = spawnCli(["ingest", "--db", db, single]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(one(db, `SELECT bytes_consumed, content_hash FROM ingest_log WHERE path = ?`, path.resolve(single)),
    { bytes_consumed: fs.statSync(single).size, content_hash: crypto.createHash("sha256").update(fs.readFileSync(single)).digest("hex") });
  assert.match(spawnCli(["ingest", "--db", db, single]).stderr, /already up to date/);
});
