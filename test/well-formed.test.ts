/**
 * Every string obs writes is valid UTF-8 in the file: a lone surrogate, from a JSON escape in a
 * line or from a cut through a pair, is stored as U+FFFD, never as bytes other readers of the
 * file refuse ("Could not decode to UTF-8"). Real files, real processes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { spawnCli, tmpDir } from "./helpers.js";

const Database = createRequire(import.meta.url)("better-sqlite3") as typeof import("better-sqlite3");
const strict = new TextDecoder("utf-8", { fatal: true });

/** Every text value in the file that is not UTF-8, as table.column. */
function notUtf8(db: string): string[] {
  const conn = new Database(db, { readonly: true });
  const bad: string[] = [];
  try {
    const tables = conn.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'`).pluck().all() as string[];
    for (const t of tables) {
      for (const c of conn.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]) {
        for (const b of conn.prepare(`SELECT CAST("${c}" AS BLOB) FROM "${t}" WHERE typeof("${c}") = 'text'`).pluck().all() as Buffer[]) {
          try {
            strict.decode(b);
          } catch {
            bad.push(`${t}.${c}`);
          }
        }
      }
    }
  } finally {
    conn.close();
  }
  return [...new Set(bad)];
}

function texts(db: string, sql: string): string[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).pluck().all() as string[];
  } finally {
    conn.close();
  }
}

const at = (s: number) => `2026-01-16T09:00:${String(s).padStart(2, "0")}Z`;

test("lone surrogates escaped in obs's stream are stored as U+FFFD, in columns, payloads and the search index", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "run.jsonl");
  // Written as JSON text by hand: JSON.stringify would escape them the same way.
  fs.writeFileSync(file, [
    String.raw`{"kind":"transcript:entry","execution_id":"e1","timestamp":"${at(0)}","entry_type":"checkpoint","category":"c\udfff","summary":"half \ud800 of a pair, a whole one \ud83d\ude00","details":{"k\udc00":["deep \ud801"]}}`,
    String.raw`{"kind":"tool:start","execution_id":"e1","timestamp":"${at(1)}","tool_use_id":"t1","tool":"Bash","input":{"command":"echo \ud83d"}}`,
    String.raw`{"kind":"tool:end","execution_id":"e1","timestamp":"${at(2)}","tool_use_id":"t1","is_error":true,"output":"out \udead","error_message":"failed \ud800"}`,
  ].join("\n") + "\n");
  const r = spawnCli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(notUtf8(db), []);
  assert.deepEqual(texts(db, `SELECT summary FROM transcript_entries WHERE entry_type = 'checkpoint'`), ["half \uFFFD of a pair, a whole one 😀"]);
  assert.deepEqual(texts(db, `SELECT category FROM transcript_entries WHERE entry_type = 'checkpoint'`), ["c\uFFFD"]);
  assert.deepEqual(texts(db, `SELECT error_message FROM tool_uses`), ["failed \uFFFD"]);
  assert.deepEqual(texts(db, `SELECT input_summary FROM tool_uses`), ["echo \uFFFD"]);
  // obs's own output of them is JSON that parses.
  const out = spawnCli(["trace", "e1", "--db", db, "--json"]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(JSON.stringify(JSON.parse(out.stdout)), /half \uFFFD of a pair/);
});

test("a summary or payload cut where a pair of surrogates stands keeps the pair whole or leaves it out", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "run.jsonl");
  // 199 characters is where a 200-character summary is cut: an odd offset, inside the 100th emoji.
  const emoji = "😀".repeat(150);
  const long = "x".repeat(65 * 1024 - 1) + "😀".repeat(10);
  fs.writeFileSync(file, [
    { kind: "transcript:entry", execution_id: "e2", timestamp: at(0), entry_type: "checkpoint", category: "c", summary: emoji },
    { kind: "tool:start", execution_id: "e2", timestamp: at(1), tool_use_id: "t2", tool: "Read", input: { file_path: emoji } },
    { kind: "tool:end", execution_id: "e2", timestamp: at(2), tool_use_id: "t2", is_error: false, output: long },
    { kind: "transcript:entry", execution_id: "e2", timestamp: at(3), entry_type: "checkpoint", category: "c", summary: "s", details: { text: "y".repeat(64 * 1024 - 201) + "😀".repeat(200) } },
  ].map((o) => JSON.stringify(o)).join("\n") + "\n");
  const r = spawnCli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(notUtf8(db), []);
  const [summary] = texts(db, `SELECT summary FROM transcript_entries WHERE summary LIKE '😀%'`);
  assert.equal(summary, "😀".repeat(99) + "…");
});

test("a Claude Code session whose text holds a lone surrogate is stored as valid UTF-8", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const project = path.join(dir, "projects", "p");
  fs.mkdirSync(project, { recursive: true });
  const session = "7f3c9c2e-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
  const line = (o: object) => JSON.stringify(o);
  fs.writeFileSync(path.join(project, `${session}.jsonl`), [
    line({ type: "user", sessionId: session, uuid: "u1", timestamp: at(0), message: { role: "user", content: "hello" } }),
    line({ type: "assistant", sessionId: session, uuid: "a1", parentUuid: "u1", timestamp: at(1), message: { id: "m1", model: "claude-sonnet-4-5", role: "assistant", content: [{ type: "text", text: "PLACEHOLDER" }], usage: { input_tokens: 1, output_tokens: 1 } } }),
  ].join("\n").replace("PLACEHOLDER", String.raw`an emoji cut in half: \ud83d`) + "\n");
  const r = spawnCli(["ingest", path.join(dir, "projects"), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(notUtf8(db), []);
  assert.deepEqual(texts(db, `SELECT summary FROM transcript_entries WHERE category = 'assistant'`), ["an emoji cut in half: \uFFFD"]);
});

test("a line nested 10,000 deep with a surrogate escape at the bottom is a bad line, not a crash", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "deep.jsonl");
  const deep = "[".repeat(10_000) + String.raw`"\ud800"` + "]".repeat(10_000);
  fs.writeFileSync(file, `{"kind":"transcript:entry","execution_id":"e3","timestamp":"${at(0)}","entry_type":"checkpoint","category":"c","summary":"s","details":{"d":${deep}}}\n`);
  const r = spawnCli(["ingest", file, "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /deep\.jsonl:1: .*nest/);
  assert.doesNotMatch(r.stderr, /RangeError|at .*\.js:\d+/);
});

test("an OTLP JSON export whose attribute holds a lone surrogate is stored as valid UTF-8", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "logs.jsonl");
  const attr = (key: string, v: string) => `{"key":"${key}","value":{"stringValue":"${v}"}}`;
  fs.writeFileSync(file, `{"resourceLogs":[{"resource":{"attributes":[${attr("service.name", "claude-code")}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1768554000000000000","body":{"stringValue":"claude_code.user_prompt"},"attributes":[${[
    attr("session.id", "s-otlp"), attr("prompt.id", "p1"), attr("event.timestamp", "2026-01-16T09:00:00Z"), attr("prompt", String.raw`fix the \udbff bug`),
  ].join(",")}]}]}]}]}\n`);
  const r = spawnCli(["ingest", file, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(notUtf8(db), []);
  assert.ok(texts(db, `SELECT summary FROM transcript_entries`).some((s) => s.includes("fix the \uFFFD bug")));
});
