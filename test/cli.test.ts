import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { buildProgram } from "../src/cli.js";
import { colorWanted } from "../src/io.js";
import { spawnSync } from "node:child_process";
import { all, BIN, cli, spawnCli, tmpDir } from "./helpers.js";

const dir = tmpDir();
const db = path.join(dir, "demo.db");
const demo = spawnCli(["demo", "--db", db]);

test("obs demo writes the demo runs and says what to try, on stdout; its statistics go to stderr", () => {
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /Demo runs written to .*demo\.db: exec-101, exec-102, exec-103/);
  assert.match(demo.stdout, /obs validate exec-103/);
  assert.match(demo.stderr, /^ingested 3 sources: [\d,]+ lines, [\d,]+ events .* 0 rejected/);
});

test("obs demo twice duplicates nothing", () => {
  const count = () => ({ runs: JSON.parse(spawnCli(["ls", "--db", db, "--json"]).stdout), entries: all(db, `SELECT COUNT(*) AS n FROM transcript_entries`)[0]!.n });
  const before = count();
  // The demo reads its runs again each time (so a pruned run comes back): the same rows, none twice.
  const again = spawnCli(["demo", "--db", db]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /^ingested 3 sources: [\d,]+ lines/);
  assert.deepEqual(count(), before);
});

test("obs ls lists the runs newest first; --json is exactly a JSON array", () => {
  const r = spawnCli(["ls", "--db", db]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0]!, /EXECUTION\s+STATUS\s+STARTED/);
  assert.match(lines[1]!, /^ exec-103\s+failed/);
  assert.match(lines[2]!, /^ exec-102\s+completed/);
  assert.match(lines[3]!, /^ exec-101\s+completed/);
  const j = spawnCli(["ls", "--db", db, "--json"]);
  const rows = JSON.parse(j.stdout);
  assert.equal(rows.length, 3);
  assert.deepEqual(Object.keys(rows[0]), [
    "execution_id", "task_list_id", "status", "started_at", "completed_at", "duration_ms", "tasks", "tasks_completed",
    "tasks_failed", "errors", "agents", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "total_tokens", "cost_usd", "unpriced_calls", "replayed_calls", "replayed_tokens", "replayed_cost_usd",
  ]);
  // Every kind of token is carried, and the total is their sum.
  for (const r2 of rows) {
    assert.equal(r2.total_tokens, r2.input_tokens + r2.output_tokens + (r2.cache_read_tokens ?? 0) + (r2.cache_write_tokens ?? 0) + (r2.cache_write_1h_tokens ?? 0));
    assert.equal(r2.replayed_calls, 0);
  }
  assert.equal(rows[0].execution_id, "exec-103");
  assert.equal(rows[0].tasks, 20);
  assert.ok(rows[0].cost_usd > 0);
  for (const r2 of rows) assert.ok(r2.agents >= 4 * 4, "4 waves of 4–6 agents");
});

test("obs ls filters by --status, --since and --until", () => {
  const failed = JSON.parse(spawnCli(["ls", "--db", db, "--json", "--status", "failed"]).stdout);
  assert.deepEqual(failed.map((r: { execution_id: string }) => r.execution_id), ["exec-103"]);
  const since = JSON.parse(spawnCli(["ls", "--db", db, "--json", "--since", "2026-11-19"]).stdout);
  assert.deepEqual(since.map((r: { execution_id: string }) => r.execution_id), ["exec-103", "exec-102"]);
  const until = JSON.parse(spawnCli(["ls", "--db", db, "--json", "--until", "2026-11-19"]).stdout);
  assert.deepEqual(until.map((r: { execution_id: string }) => r.execution_id), ["exec-101"]);
  const newest = JSON.parse(spawnCli(["ls", "--db", db, "--json", "--limit", "2"]).stdout);
  assert.deepEqual(newest.map((r: { execution_id: string }) => r.execution_id), ["exec-103", "exec-102"]);
  const bad = spawnCli(["ls", "--db", db, "--since", "last tuesday"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since must be a date .* or an age/);
});

test("the demo has what every family needs: waves of 4–6 agents, hundreds of tool calls, tokens and cost", () => {
  const rows = JSON.parse(spawnCli(["ls", "--db", db, "--json"]).stdout);
  for (const r of rows) {
    assert.ok(r.input_tokens > 100_000);
  }
});

test("a read-only command does not change the database file", () => {
  const hash = () => crypto.createHash("sha256").update(fs.readFileSync(db)).digest("hex");
  const before = hash();
  spawnCli(["ls", "--db", db]);
  assert.equal(hash(), before);
});

test("a missing database is a clear error naming the path and how to make one (exit 2)", () => {
  const r = spawnCli(["ls", "--db", path.join(dir, "nope.db")]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /no database at .*nope\.db/);
  assert.match(r.stderr, /obs ingest FILE\.jsonl.*obs demo/s);
  assert.ok(!fs.existsSync(path.join(dir, "nope.db")), "a read-only command never creates the file");
});

test("OBS_DB is used when --db is not given, and ./obs.db after that", () => {
  const r = spawnCli(["ls", "--json"], { env: { OBS_DB: db } });
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).length, 3);
  const cwd = tmpDir();
  const r2 = spawnCli(["ls"], { cwd });
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /no database at obs\.db/);
});

test("usage errors exit 2, not commander's 1", () => {
  for (const args of [["frobnicate"], ["ls", "--no-such-flag"], ["ingest", "--format", "no-such-format"]]) {
    const r = spawnCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^obs: /);
    assert.doesNotMatch(r.stderr, /^error:/m);
  }
});

test("help and version exit 0 on stdout; no arguments shows help", () => {
  for (const args of [["--help"], ["ls", "--help"], ["--version"], []]) {
    const r = spawnCli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.ok(r.stdout.length > 0);
    assert.equal(r.stderr, "");
  }
});

test("every command has help with an example", async () => {
  const program = await buildProgram({ io: { out: () => {}, err: () => {} } as never, code: 0 });
  assert.ok(program.commands.length >= 3);
  for (const c of program.commands) {
    let after = "";
    c.configureOutput({ writeOut: (s) => (after += s), writeErr: () => {} });
    c.outputHelp();
    assert.ok(c.description() || c.summary(), `${c.name()} has a description`);
    assert.match(after, /Examples:\n  obs /, `${c.name()} help shows an example`);
    assert.ok(c.options.some((o) => o.long === "--db"), `${c.name()} takes --db`);
    // An export writes a format of its own (--jsonl, --otlp): --json there would be one more, and is not offered.
    if (c.name() === "export") assert.ok(!c.options.some((o) => o.long === "--json"), "export offers no --json");
    else assert.ok(c.options.some((o) => o.long === "--json"), `${c.name()} takes --json`);
  }
});

test("colour: only on a TTY, never with NO_COLOR, always with FORCE_COLOR", () => {
  assert.equal(colorWanted({}, true), true);
  assert.equal(colorWanted({}, false), false);
  assert.equal(colorWanted({ NO_COLOR: "1" }, true), false);
  assert.equal(colorWanted({ FORCE_COLOR: "1" }, false), true);
  assert.equal(colorWanted({ FORCE_COLOR: "0" }, true), false);
  const plain = spawnCli(["ls", "--db", db]);
  assert.doesNotMatch(plain.stdout, /\x1b\[/);
  const forced = spawnCli(["ls", "--db", db], { env: { FORCE_COLOR: "1", NO_COLOR: "" } });
  assert.match(forced.stdout, /\x1b\[/);
});

test("tables fit the width they are given; ids stay whole", async () => {
  const r = await cli(["ls", "--db", db], { columns: 60 });
  for (const line of r.stdout.trimEnd().split("\n")) assert.ok(line.length <= 60, `too wide (${line.length}): ${line}`);
  assert.match(r.stdout, /exec-103/);
});

test("a closed pipe (| head) ends quietly, with no error", () => {
  const many = path.join(dir, "many.db");
  const lines = Array.from({ length: 3000 }, (_, i) =>
    JSON.stringify({ kind: "execution:status", execution_id: `exec-${i}`, timestamp: "2026-01-16T09:00:00.000Z", status: "completed" }));
  assert.equal(spawnCli(["ingest", "-", "--db", many], { input: lines.join("\n") }).code, 0);
  const r = spawnSync("bash", ["-c", `node "${BIN}" ls --db "${many}" --json | head -c 10 >/dev/null; echo "status=\${PIPESTATUS[0]}"`], { encoding: "utf8" });
  assert.match(r.stdout, /status=0/);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
});
