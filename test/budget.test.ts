/**
 * A budget in the CI gate: obs validate holds a run to limits on cost, tokens, duration, errors
 * and loops, from flags or stored with obs config, and exits 1 when the run is over any of them,
 * with the figure beside the limit. The runs are built here; their figures are worked out by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import Database from "better-sqlite3";
import { spawnCli, tmpDir } from "./helpers.js";
import { dbWith, line } from "./query-helpers.js";

/**
 * "spendy": 40 minutes (09:00 → 09:40), two model calls — 1,000,000 input + 500,000 cache read
 * for $3, and 900,000 input + 100,000 output for $4: 2,500,000 tokens, $7 — and two failed tool
 * calls. "frugal": 5 minutes, one call of 1,000 tokens for $0.01, no errors.
 */
function runs(): Record<string, unknown>[] {
  return [
    line("spendy", 0, "execution:status", { status: "started" }),
    line("spendy", 60, "llm:call", { id: "s1", model: "claude-sonnet-4-5", input_tokens: 1_000_000, output_tokens: 0, cache_read_tokens: 500_000, cost_usd: 3 }),
    line("spendy", 120, "tool:start", { tool_use_id: "st1", tool: "Bash", input: { command: "npm test" } }),
    line("spendy", 125, "tool:end", { tool_use_id: "st1", is_error: true, error_message: "2 failed" }),
    line("spendy", 600, "llm:call", { id: "s2", model: "claude-sonnet-4-5", input_tokens: 900_000, output_tokens: 100_000, cost_usd: 4 }),
    line("spendy", 700, "tool:start", { tool_use_id: "st2", tool: "Bash", input: { command: "npm run build" } }),
    line("spendy", 702, "tool:end", { tool_use_id: "st2", is_error: true, error_message: "tsc failed" }),
    line("spendy", 2400, "execution:status", { status: "completed" }),
    line("frugal", 0, "execution:status", { status: "started" }),
    line("frugal", 10, "llm:call", { id: "f1", model: "claude-sonnet-4-5", input_tokens: 900, output_tokens: 100, cost_usd: 0.01 }),
    line("frugal", 300, "execution:status", { status: "completed" }),
  ];
}

const LIMITS = ["--max-cost", "5", "--max-tokens", "2M", "--max-duration", "30m", "--max-errors", "0"];

test("a run over its budget fails the gate: exit 1, each figure beside its limit, in the checklist and the JSON", async () => {
  const db = await dbWith(runs());
  const r = spawnCli(["validate", "spendy", ...LIMITS, "--db", db]);
  assert.equal(r.code, 1, r.stdout);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /  ✓ V007 Referential integrity\n/);
  assert.match(r.stdout, /\n  ✗ budget cost     \$7\.00 \(limit \$5\.00\)  over by \$2\.00\n/);
  assert.match(r.stdout, /\n  ✗ budget tokens   2,500,000 \(limit 2,000,000\)  over by 500,000\n/);
  assert.match(r.stdout, /\n  ✗ budget duration 40m 00s \(limit 30m 00s\)  over by 10m 00s\n/);
  assert.match(r.stdout, /\n  ✗ budget errors   2 \(limit 0\)  over by 2\n/);
  assert.match(r.stdout, /\n✗ spendy: all 7 checks passed; over budget: cost, tokens, duration, errors\n$/);
  const json = spawnCli(["validate", "spendy", ...LIMITS, "--db", db, "--json"]);
  assert.equal(json.code, 1);
  const v = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(v), ["execution_id", "ok", "checks", "budget"]);
  assert.equal(v.ok, false);
  assert.ok(v.checks.every((c: { ok: boolean }) => c.ok), "the integrity checks themselves pass");
  assert.deepEqual(v.budget, [
    { limit: "max-cost", max: 5, value: 7, ok: false },
    { limit: "max-tokens", max: 2_000_000, value: 2_500_000, ok: false },
    { limit: "max-duration", max: 1_800_000, value: 2_400_000, ok: false },
    { limit: "max-errors", max: 0, value: 2, ok: false },
  ]);
  // The same limits pass a run within them; exactly at a limit is within it.
  const ok = spawnCli(["validate", "frugal", ...LIMITS, "--db", db]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /  ✓ budget cost     \$0\.01 \(limit \$5\.00\)\n/);
  assert.match(ok.stdout, /\n✓ frugal: all 7 checks passed, within budget\n$/);
  assert.equal(spawnCli(["validate", "spendy", "--max-cost", "7", "--max-errors", "2", "--max-duration", "40m", "--max-tokens", "2,500,000", "--db", db]).code, 0);
  // Without limits the gate is the integrity checks only, and the JSON as it always was.
  const plain = spawnCli(["validate", "spendy", "--db", db, "--json"]);
  assert.equal(plain.code, 0);
  assert.deepEqual(Object.keys(JSON.parse(plain.stdout)), ["execution_id", "ok", "checks"]);
});

test("a cost not fully known is not within a limit: calls of unknown price fail --max-cost, and say so", async () => {
  const db = await dbWith([
    line("mixed", 0, "execution:status", { status: "started" }),
    line("mixed", 1, "llm:call", { id: "m1", model: "claude-sonnet-4-5", input_tokens: 10, output_tokens: 1, cost_usd: 0.5 }),
    line("mixed", 2, "llm:call", { id: "m2", model: "in-house-model", input_tokens: 10, output_tokens: 1 }),
    line("unknown", 0, "execution:status", { status: "started" }),
    line("unknown", 1, "llm:call", { id: "u1", model: "in-house-model", input_tokens: 10, output_tokens: 1 }),
  ]);
  const mixed = spawnCli(["validate", "mixed", "--max-cost", "100", "--max-tokens", "1k", "--db", db]);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stdout, /  ✗ budget cost     \$0\.50 \(limit \$100\.00\): 1 model call of unknown price\n  ✓ budget tokens   22 \(limit 1,000\)\n✗ mixed: all 7 checks passed; not known to be within budget: cost\n$/);
  const unknown = JSON.parse(spawnCli(["validate", "unknown", "--max-cost", "100", "--db", db, "--json"]).stdout);
  assert.deepEqual(unknown.budget, [{ limit: "max-cost", max: 100, value: null, ok: false, note: "1 model call of unknown price" }]);
});

test("a loop fails the budget's --max-loops: the repeated call named beside the limit", async () => {
  const lines: Record<string, unknown>[] = [line("poll", 0, "execution:status", { status: "started" })];
  for (let k = 0; k < 6; k++) {
    lines.push(line("poll", k * 30, "tool:start", { tool_use_id: `p${k}`, tool: "Bash", input: { command: "gh run view 42" }, instance_id: "a1" }));
    lines.push(line("poll", k * 30 + 1, "tool:end", { tool_use_id: `p${k}`, is_error: false }));
  }
  const db = await dbWith(lines);
  const r = spawnCli(["validate", "poll", "--max-loops", "0", "--db", db]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /  ✗ budget loops    1 \(limit 0\)  over by 1: Bash gh run view 42 ×6\n✗ poll: all 7 checks passed; over budget: loops\n$/);
  assert.equal(spawnCli(["validate", "poll", "--max-loops", "1", "--db", db]).code, 0);
});

test("limits stored with obs config apply to every validate; flags override them; --no-budget leaves them out", async () => {
  const db = await dbWith(runs());
  for (const [k, v, said] of [["max-cost", "5", "max-cost: $5.00 (obs validate fails a run that cost more)"], ["max-tokens", "2M", "max-tokens: 2,000,000"],
    ["max-duration", "1h30m", "max-duration: 1h 30m"], ["max-errors", "0", "max-errors: 0"]] as const) {
    const r = spawnCli(["config", k, v, "--db", db]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(said), r.stdout);
  }
  assert.deepEqual(JSON.parse(spawnCli(["config", "--json", "--db", db]).stdout), {
    retention_days: null, max_cost_usd: 5, max_tokens: 2_000_000, max_duration_ms: 5_400_000, max_errors: 0, max_loops: null,
  });
  // One line in CI: the stored budget.
  const gate = spawnCli(["validate", "spendy", "--db", db, "--json"]);
  assert.equal(gate.code, 1);
  assert.deepEqual(JSON.parse(gate.stdout).budget.map((b: { limit: string; ok: boolean }) => [b.limit, b.ok]),
    [["max-cost", false], ["max-tokens", false], ["max-duration", true], ["max-errors", false]]);
  const over = spawnCli(["validate", "spendy", "--max-cost", "10", "--max-tokens", "3M", "--max-errors", "5", "--db", db]);
  assert.equal(over.code, 0, over.stdout);
  assert.match(over.stdout, /budget cost     \$7\.00 \(limit \$10\.00\)/);
  assert.equal(spawnCli(["validate", "spendy", "--no-budget", "--db", db]).code, 0);
  assert.match(spawnCli(["config", "max-cost", "--db", db]).stdout, /^max-cost: \$5\.00 /);
  for (const k of ["max-cost", "max-tokens", "max-errors"]) assert.match(spawnCli(["config", k, "off", "--db", db]).stdout, new RegExp(`^${k}: not set`));
  assert.equal(spawnCli(["validate", "spendy", "--db", db]).code, 0, "within what is left: 1h 30m");
  // validate --all spreads many executions over worker threads: each gets the budget too.
  const many = Array.from({ length: 9 }, (_, i) => runs().map((l) => ({ ...l, execution_id: `${l.execution_id}-${i}`, ...(l.id ? { id: `${l.id}-${i}` } : {}), ...(l.tool_use_id ? { tool_use_id: `${l.tool_use_id}-${i}` } : {}) }))).flat();
  const manyDb = await dbWith(many);
  const all = spawnCli(["validate", "--all", "--max-cost", "5", "--json", "--db", manyDb]);
  assert.equal(all.code, 1);
  const verdicts = JSON.parse(all.stdout) as { execution_id: string; ok: boolean; budget: { value: number }[] }[];
  assert.equal(verdicts.length, 18);
  assert.deepEqual(verdicts.filter((v) => !v.ok).map((v) => v.execution_id).sort(), Array.from({ length: 9 }, (_, i) => `spendy-${i}`).sort());
  assert.ok(verdicts.every((v) => v.budget.length === 1));
});

test("the user's mistakes in a limit are named; a database another program wrote is held to what it has", async () => {
  const db = await dbWith(runs());
  const bad: [string[], RegExp][] = [
    [["--max-cost", "five"], /--max-cost must be an amount of US dollars like 5 or 0\.50, got 'five'/],
    [["--max-tokens", "2X"], /--max-tokens must be a number of tokens like 2M, 500k or 1500000, got '2X'/],
    [["--max-duration", "soon"], /--max-duration must be a duration like 500ms, 90s, 5m or 1h, got 'soon'/],
    [["--max-errors", "1.5"], /--max-errors must be a whole number of errors \(0 or more\), got '1\.5'/],
  ];
  for (const [args, err] of bad) {
    const r = spawnCli(["validate", "spendy", ...args, "--db", db]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, err);
  }
  const negative = spawnCli(["config", "max-cost", "-3", "--db", db]);
  assert.equal(negative.code, 2);
  // obs config names the setting it was given, not a flag the user never typed.
  assert.match(negative.stderr, /^obs: max-cost /m);
  assert.doesNotMatch(negative.stderr, /--max-cost/);
  assert.doesNotMatch(spawnCli(["config", "max-tokens", "lots", "--db", db]).stderr, /--max-tokens/);
  const unknown = spawnCli(["config", "max-money", "5", "--db", db]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no setting 'max-money'\n {2}settings: retention .*max-cost, max-tokens, max-duration, max-errors, max-loops/);

  const foreign = path.join(tmpDir(), "foreign.db");
  const raw = new Database(foreign);
  raw.exec(`CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, sequence INTEGER NOT NULL, execution_id TEXT NOT NULL,
            task_id TEXT, instance_id TEXT, wave_number INTEGER, entry_type TEXT NOT NULL, category TEXT, summary TEXT, details TEXT, duration_ms INTEGER)`);
  raw.prepare(`INSERT INTO transcript_entries VALUES ('e1', '2026-01-16 09:00:00', 1, 'py-run', NULL, 'a1', NULL, 'task_start', 'c', 'go', NULL, NULL)`).run();
  raw.close();
  const r = spawnCli(["validate", "py-run", "--max-cost", "1", "--db", foreign, "--json"]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).budget, [{ limit: "max-cost", max: 1, value: null, ok: false, note: "the run's figures are not in this database" }]);
});
