/**
 * D007, repeated calls, on hand-built runs: loops that must be found (in a row with any gap,
 * or close together with other calls between), near misses that must not (one call short,
 * too far apart, two agents, other inputs, another run's history), and what the loop spent.
 * Times are seconds after 09:00:00 UTC; every figure below is worked out by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import Database from "better-sqlite3";
import { D007, type D007Row } from "../src/queries/detection.js";
import { spawnCli, tmpDir } from "./helpers.js";
import { at, dbWith, line, rows } from "./query-helpers.js";

/** A tool call of `agent` at second s, lasting `took` seconds. */
function call(exec: string, s: number, id: string, agent: string, tool: string, input: unknown, took = 1, error = false): Record<string, unknown>[] {
  return [
    line(exec, s, "tool:start", { tool_use_id: id, tool, input, instance_id: agent }),
    line(exec, s + took, "tool:end", { tool_use_id: id, is_error: error, instance_id: agent, output: error ? "failed" : "ok" }),
  ];
}
const model = (exec: string, s: number, id: string, agent: string, cost: number | null) =>
  line(exec, s, "llm:call", { id, instance_id: agent, model: "claude-sonnet-4-5", input_tokens: 100, output_tokens: 10, ...(cost === null ? {} : { cost_usd: cost }) });

const poll = { command: "gh run view 42 --json status" };

/**
 * "poller": agent a1 polls every 120 s — far more than the window apart, but nothing else
 * between — six times (at 0, 120, …, 600 s, each 2 s long), each call decided by a model call 1 s
 * before it ($0.01, 110 tokens; the one at 599 s of unknown price).
 */
function poller(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [line("poller", 0, "execution:status", { status: "started" })];
  for (let k = 0; k < 6; k++) {
    out.push(model("poller", k * 120 + (k === 0 ? 0 : -1), `m${k}`, "a1", k === 5 ? null : 0.01));
    out.push(...call("poller", k * 120, `p${k}`, "a1", "Bash", poll, 2));
  }
  out.push(line("poller", 700, "execution:status", { status: "completed" }));
  return out;
}

test("a call repeated in a row is a loop, however far apart: when it started, was found, ended, and what it spent", async () => {
  const db = await dbWith(poller());
  const found = rows(db, D007, { execution_id: "poller" });
  // m0 is at second 0 with p0; m1…m5 at 119, 239, …, 599 are inside [0 s, 602 s] too: six calls,
  // 660 tokens; five priced at $0.01, one unknown.
  assert.deepEqual(found, [{
    instance_id: "a1", agent_type: null, tool: "Bash", input_summary: "gh run view 42 --json status", calls: 6, in_a_row: 1, other_calls: 0,
    errors: 0, first_at: at(0), detected_at: at(480), last_at: at(602), span_ms: 602_000,
    model_calls: 6, tokens: 660, cost_usd: found[0]!.cost_usd, unpriced_calls: 1,
    first_tool_use_id: "p0", detected_tool_use_id: "p4", last_tool_use_id: "p5",
  } satisfies D007Row]);
  assert.ok(Math.abs(found[0]!.cost_usd! - 0.05) < 1e-12);
  // One call short of the threshold is no loop; the threshold is an option.
  assert.equal(rows(db, D007, { execution_id: "poller" }, { min_calls: 7 }).length, 0);
  assert.equal(rows(db, D007, { execution_id: "poller" }, { min_calls: 6 }).length, 1);
});

/**
 * "reader": agent r1 reads config.json five times, 10 s apart, with a Grep between each two
 * (others' calls between do not break it: each read is within 60 s of the last), and its reads
 * of other files, and the same read by another agent, do not count.
 */
function reader(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [line("reader", 0, "execution:status", { status: "started" })];
  for (let k = 0; k < 5; k++) {
    out.push(...call("reader", k * 10, `r${k}`, "r1", "Read", { file_path: "config.json" }, 1, k === 2));
    if (k < 4) out.push(...call("reader", k * 10 + 5, `g${k}`, "r1", "Grep", { pattern: `key${k}` }, 1));
    out.push(...call("reader", k * 10 + 6, `o${k}`, "r2", "Read", { file_path: "config.json" }, 1));
  }
  return out;
}

test("the same call close together is a loop even with other calls between; other agents' calls are theirs", async () => {
  const db = await dbWith(reader());
  const found = rows(db, D007, { execution_id: "reader" });
  assert.deepEqual(found.map((r) => [r.instance_id, r.calls, r.in_a_row, r.other_calls, r.errors, r.first_at, r.detected_at, r.last_at, r.span_ms, r.model_calls, r.tokens, r.cost_usd]), [
    ["r1", 5, 0, 4, 1, at(0), at(40), at(41), 41_000, 0, null, null],
    // r2 made the same read five times too, each 10 s after its last: a loop of its own.
    ["r2", 5, 1, 0, 0, at(6), at(46), at(47), 41_000, 0, null, null],
  ]);
  // With a window shorter than the 10 s between them, r1's reads no longer continue each other;
  // r2's still do (nothing else came between).
  assert.deepEqual(rows(db, D007, { execution_id: "reader" }, { window_ms: 9_000 }).map((r) => r.instance_id), ["r2"]);
});

test("near misses: four in a row, five too far apart with other calls between, two agents' five, five other inputs, another run's history", async () => {
  const lines: Record<string, unknown>[] = [line("near", 0, "execution:status", { status: "started" })];
  // n1: four in a row.
  for (let k = 0; k < 4; k++) lines.push(...call("near", k * 5, `four${k}`, "n1", "Bash", { command: "make" }));
  // n2: five, 61 s apart, a Read between each two: neither in a row nor within the window.
  for (let k = 0; k < 5; k++) {
    lines.push(...call("near", 100 + k * 61, `far${k}`, "n2", "Bash", { command: "make" }));
    lines.push(...call("near", 130 + k * 61, `between${k}`, "n2", "Read", { file_path: `f${k}` }));
  }
  // n3 and n4 take turns at the same call: three and two.
  for (let k = 0; k < 5; k++) lines.push(...call("near", 500 + k * 3, `turn${k}`, k % 2 ? "n4" : "n3", "Bash", { command: "make" }));
  // n5: the same tool with five inputs.
  for (let k = 0; k < 5; k++) lines.push(...call("near", 600 + k * 3, `cat${k}`, "n5", "Read", { file_path: `src/${k}.ts` }));
  const db = await dbWith([...lines, ...poller()]);
  assert.deepEqual(rows(db, D007, { execution_id: "near" }), []);
  // Each miss is one step from a find: the options show it.
  assert.deepEqual(rows(db, D007, { execution_id: "near" }, { min_calls: 4 }).map((r) => r.instance_id), ["n1"]);
  assert.deepEqual(rows(db, D007, { execution_id: "near" }, { window_ms: 61_000 }).map((r) => [r.instance_id, r.calls]), [["n2", 5]]);
  // A resumed run carries the poller's calls under their ids: its history, the poller's loop.
  const resumed = poller().map((l) => ({ ...l, execution_id: "resumed", timestamp: l.kind === "execution:status" ? at(5000) : l.timestamp }));
  const both = await dbWith([...poller(), ...resumed]);
  assert.equal(rows(both, D007, { execution_id: "poller" }).length, 1);
  assert.deepEqual(rows(both, D007, { execution_id: "resumed" }), []);
});

test("inputs are compared as JSON values: the same call written with other spacing is the same call", () => {
  const p = path.join(tmpDir(), "foreign.db");
  const raw = new Database(p);
  raw.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT, sequence INTEGER, execution_id TEXT, instance_id TEXT, entry_type TEXT)`);
  raw.exec(`CREATE TABLE tool_uses (id TEXT PRIMARY KEY, execution_id TEXT, transcript_entry_id TEXT, tool TEXT, input TEXT, input_summary TEXT,
            is_error INTEGER DEFAULT 0, start_time TEXT, end_time TEXT)`);
  const inputs = ['{"cmd":"ls"}', '{ "cmd": "ls" }', '{"cmd" :"ls"}\n', '{"cmd":"ls"}', 'not json', '  not json '];
  inputs.forEach((input, k) => {
    raw.prepare(`INSERT INTO transcript_entries VALUES (?, ?, ?, 'py', 'w1', 'tool_use')`).run(`e${k}`, `2026-01-16 09:00:0${k}`, k);
    raw.prepare(`INSERT INTO tool_uses VALUES (?, 'py', ?, 'shell', ?, NULL, 0, ?, ?)`).run(`t${k}`, `e${k}`, input, `2026-01-16 09:00:0${k}`, `2026-01-16 09:00:0${k}`);
  });
  raw.close();
  const r = spawnCli(["query", "D007", "py", "--set", "min_calls=2", "--json", "--db", p]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as D007Row[]).map((x) => [x.first_tool_use_id, x.calls, x.last_tool_use_id, x.model_calls]), [["t0", 4, "t3", 0], ["t4", 2, "t5", 0]]);
});

test("a loop fails the CI gate: obs anomalies exits 1 with it in the checklist and the JSON; without it, 0", async () => {
  const db = await dbWith(poller());
  const r = spawnCli(["anomalies", "poller", "--db", db]);
  assert.equal(r.code, 1, r.stdout);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /Repeated calls \(D007\)  1\n  looked for: one agent making the same tool call \(same input\) 5 or more times, in a row or each within 60 s of the\n? +last\n/);
  assert.match(r.stdout, /2026-01-16 09:00:00 +10m 02s +a1 +Bash +gh run view 42 --json status +6 in a row +660 +\$0\.0500\+\?/);
  assert.match(r.stdout, /1 of 7 detectors found something\n$/);
  const json = spawnCli(["anomalies", "poller", "--db", db, "--json"]);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout).D007.map((x: D007Row) => [x.tool, x.calls, x.in_a_row]), [["Bash", 6, 1]]);
  // The same run stopping after four polls is clean.
  const clean = await dbWith(poller().filter((l) => !/^(p|m)[45]$/.test(String(l.tool_use_id ?? l.id ?? ""))));
  const ok = spawnCli(["anomalies", "poller", "--db", clean]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /Repeated calls \(D007\)  none found/);
});
