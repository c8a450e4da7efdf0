/**
 * Lines longer than obs reads (docs/events.md: 128 MiB, well under the longest string V8 can
 * make): such a line is a bad line named by file:line ("line over 128 MiB"), read past in
 * bounded memory and never a crash; with --skip-invalid the rest is written. A first line up to
 * that length is looked at whole, so a file's format is still found. The files are built in the
 * tests (written a block at a time, never held) and removed when each test ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { all, BIN, one, ROOT, spawnCli, tmpDb, tmpDir } from "./helpers.js";

const MIB = 1024 * 1024;
/** The longest line obs reads, as docs/events.md states it. */
const MAX = 128 * MIB;
const FIX = path.join(ROOT, "test", "fixtures");

type Piece = string | { x: number };

/** Writes a file from pieces: text, or that many bytes of "x" written a block at a time. */
function build(file: string, pieces: Piece[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "w");
  const block = Buffer.alloc(8 * MIB, "x");
  try {
    for (const p of pieces) {
      if (typeof p === "string") fs.writeSync(fd, p);
      else for (let left = p.x; left > 0; left -= Math.min(left, block.length)) fs.writeSync(fd, block, 0, Math.min(left, block.length));
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Pieces of one obs line of exactly `bytes` bytes (its newline not counted), valid JSON: only its length is wrong. */
function bigEntry(bytes: number, exec = "long"): Piece[] {
  const pre = `{"kind":"transcript:entry","execution_id":"${exec}","timestamp":"2026-01-16T09:30:59Z","entry_type":"discovery","category":"note","summary":"big","details":{"b":"`;
  const post = `"}}`;
  return [pre, { x: bytes - pre.length - post.length }, post];
}

function entry(i: number, exec = "long"): string {
  return JSON.stringify({ kind: "transcript:entry", execution_id: exec, timestamp: `2026-01-16T09:30:${String(i).padStart(2, "0")}Z`, entry_type: "discovery", category: "note", summary: `line ${i}` });
}

/** Pieces of a line of another format that is valid JSON of exactly `bytes` bytes. */
function bigObject(bytes: number, prefix: string): Piece[] {
  const pre = `${prefix}"padding":"`;
  return [pre, { x: bytes - pre.length - 2 }, `"}`];
}

function sha256(file: string): string {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(8 * MIB);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

// A first ingest that wrote nothing leaves no database: no entries.
const summaries = (db: string) => (fs.existsSync(db) ? all(db, `SELECT summary FROM transcript_entries ORDER BY timestamp`).map((r) => r.summary) : []);

/** Every row of the tables ingest writes, as comparable text (where it came from and when left out). */
function dump(db: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of ["task_list_execution_runs", "transcript_entries", "tool_uses", "tasks", "build_agent_instances", "agent_heartbeats", "llm_calls"]) {
    out[t] = all(db, `SELECT * FROM ${t}`).map((r) => {
      const { source: _s, created_at: _c, ...rest } = r as Record<string, unknown>;
      return JSON.stringify(rest);
    }).sort();
  }
  return out;
}

test("a line over 128 MiB is a bad line named by file:line, read past to the lines after it; one of 128 MiB is still read", (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = build(path.join(dir, "events.jsonl"), [
    entry(1), "\n",
    // Line 2 is exactly as long as obs reads: it is read (and is no JSON, which says so).
    { x: MAX }, "\n",
    // Line 3 is one byte longer, and valid JSON: only its length makes it bad.
    ...bigEntry(MAX + 1), "\n",
    entry(4), "\n",
  ]);
  const db = tmpDb();
  let r = spawnCli(["ingest", "--db", db, file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${file}:2: not JSON`));
  assert.match(r.stderr, new RegExp(`${file}:3: line over 128 MiB \\(obs reads lines of up to 128 MiB\\)`));
  assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
  assert.deepEqual(summaries(db), []);

  r = spawnCli(["ingest", "--db", db, "--skip-invalid", "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(r.stdout) as { lines: number; rejected: number };
  assert.deepEqual([stats.lines, stats.rejected], [4, 2]);
  assert.deepEqual(summaries(db), ["line 1", "line 4"]);
  // How far it was read, and the hash of that, are of the file's bytes: the next ingest reads on after them.
  assert.deepEqual(one(db, `SELECT bytes_consumed, content_hash FROM ingest_log`), { bytes_consumed: fs.statSync(file).size, content_hash: sha256(file) });
  fs.appendFileSync(file, entry(5) + "\n");
  r = spawnCli(["ingest", "--db", db, "--skip-invalid", "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /changed since/);
  assert.equal(JSON.parse(r.stdout).lines, 1);
  assert.deepEqual(summaries(db), ["line 1", "line 4", "line 5"]);

  // Cut before line 3's newline: a last line over 128 MiB is bad whether or not it is finished.
  const line3 = entry(1).length + 1 + MAX + 1;
  fs.truncateSync(file, line3 + MAX + 1);
  const cut = tmpDb();
  r = spawnCli(["ingest", "--db", cut, file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${file}:3: line over 128 MiB`));
  r = spawnCli(["ingest", "--db", cut, "--skip-invalid", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(summaries(cut), ["line 1"]);
  assert.equal(one(cut, `SELECT bytes_consumed FROM ingest_log`)?.bytes_consumed, fs.statSync(file).size);
});

test("a line past the longest string V8 makes (520 MiB) is read past in bounded memory, never a crash", (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = build(path.join(dir, "events.jsonl"), [entry(1), "\n", ...bigEntry(520 * MIB), "\n", entry(3), "\n"]);
  // The CLI's peak memory, reported by the process itself as it exits.
  const preload = path.join(dir, "maxrss.cjs");
  fs.writeFileSync(preload, `process.on("exit", () => require("fs").writeSync(2, "maxrss_kb=" + process.resourceUsage().maxRSS + "\\n"));\n`);
  const db = tmpDb();
  const r = spawnSync(process.execPath, ["--require", preload, BIN, "ingest", "--db", db, "--skip-invalid", file], {
    encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${file}:2: line over 128 MiB`));
  assert.doesNotMatch(r.stderr, /internal error|Cannot create a string/);
  assert.deepEqual(summaries(db), ["line 1", "line 3"]);
  const kb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1]);
  // Holding the line would take more than 520 MiB; reading past it takes one buffer of 128 MiB and what obs needs anyway.
  assert.ok(kb > 0 && kb * 1024 < 2 * MAX, `peak memory ${Math.round(kb / 1024)} MiB`);

  // A line appended later that is the twin of one read before (an entry known by its text) has
  // its twins counted in what was read: past the long line too, without holding it.
  fs.appendFileSync(file, entry(1) + "\n");
  const again = spawnCli(["ingest", "--db", db, "--skip-invalid", file]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(summaries(db), ["line 1", "line 1", "line 3"]);
});

test("other formats and standard input: a line over 128 MiB is named by its line, and with --skip-invalid the rest is what the file holds without it", (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases = [
    { src: "claude-code/marot-spotter/tool_heavy.jsonl", at: 5, prefix: `{"type":"user","sessionId":"x",` },
    { src: "gemini-cli/Mai0313-VibeCodingTracker/test_conversation_gemini.jsonl", at: 1, prefix: `{"$set":{"lastUpdated":"2026-01-01T00:00:00Z"},` },
  ];
  for (const c of cases) {
    const lines = fs.readFileSync(path.join(FIX, c.src), "utf8").split("\n");
    const name = path.basename(c.src);
    const clean = build(path.join(dir, "clean", "project", name), [lines.join("\n")]);
    const file = build(path.join(dir, "long", "project", name), [lines.slice(0, c.at).join("\n"), "\n", ...bigObject(MAX + 1, c.prefix), "\n", lines.slice(c.at).join("\n")]);
    const cleanDb = tmpDb();
    assert.equal(spawnCli(["ingest", "--db", cleanDb, clean]).code, 0);
    const db = tmpDb();
    let r = spawnCli(["ingest", "--db", db, file]);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${file}:${c.at + 1}: line over 128 MiB`));
    r = spawnCli(["ingest", "--db", db, "--skip-invalid", file]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /skipped 1 bad line/);
    assert.deepEqual(dump(db), dump(cleanDb), name);
    fs.rmSync(file);
  }
  // Standard input: the same line, read from a pipe.
  const piped = build(path.join(dir, "stdin.jsonl"), [entry(1), "\n", ...bigEntry(MAX + 1), "\n", entry(3), "\n"]);
  const db = tmpDb();
  const r = spawnSync(process.execPath, [BIN, "ingest", "--db", db, "--skip-invalid", "-"], {
    input: fs.readFileSync(piped), encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^-:2: line over 128 MiB/m);
  assert.deepEqual(summaries(db), ["line 1", "line 3"]);
});

test("a first line of 40 MiB is looked at whole, so the file's format is found; one over 128 MiB is said to be so", (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = build(path.join(dir, "l.jsonl"), [...bigEntry(40 * MIB, "b"), "\n"]);
  const db = tmpDb();
  let r = spawnCli(["ingest", "--db", db, "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).events, 1);
  assert.deepEqual(summaries(db), ["big"]);

  // (A first line a few bytes over 128 MiB leaves the next line in what obs looks at: that one names the format.)
  const over = build(path.join(dir, "over.jsonl"), [...bigEntry(MAX + MIB), "\n", entry(2), "\n"]);
  r = spawnCli(["ingest", "--db", db, over]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${over}: not a format obs reads \\(its first line is over 128 MiB, longer than obs reads\\).*--format`));
  r = spawnCli(["ingest", "--db", db, "--format", "obs", "--skip-invalid", over]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${over}:1: line over 128 MiB`));
  assert.deepEqual(summaries(db), ["line 2", "big"]);
});
