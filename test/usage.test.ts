/**
 * obs usage on hand-built runs whose figures are worked out below by hand: two sessions of one
 * project across the night Paris moves its clocks forward (2026-03-29, 01:00 UTC), a subagent,
 * a model of unknown price, and a resumed session that carries one of the first session's model
 * calls again (counted once, by the session it came from).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { cli, spawnCli, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const at = (iso: string) => iso;
const L = (exec: string, timestamp: string, kind: string, f: Record<string, unknown> = {}) => ({ kind, execution_id: exec, timestamp, ...f });
const call = (exec: string, ts: string, id: string, agent: string, model: string, t: number[], cost?: number, response = id) =>
  L(exec, ts, "llm:call", {
    id, response_id: response, instance_id: agent, model, input_tokens: t[0], output_tokens: t[1], cache_read_tokens: t[2] ?? 0,
    cache_write_tokens: t[3] ?? 0, cache_write_1h_tokens: t[4] ?? 0, ...(cost === undefined ? {} : { cost_usd: cost }),
  });
const tool = (exec: string, ts: string, end: string, id: string, agent: string, name: string, input: object, error = false) => [
  L(exec, ts, "tool:start", { tool_use_id: id, tool: name, input, instance_id: agent }),
  L(exec, end, "tool:end", { tool_use_id: id, is_error: error, instance_id: agent, ...(error ? { error_message: "exit 1" } : {}) }),
];

/**
 * run-a (project "shop"), its main agent and an Explore subagent:
 *   c1 22:40Z 28th  main     opus   100 in, 10 out, 1,000 read, 200 write 5m         $0.10   Paris 23:40 on the 28th
 *   c2 23:30Z 28th  main     opus   200 in, 20 out, 300 write 1h                     $0.20   Paris 00:30 on the 29th (+1)
 *   c3 00:50Z 29th  explore  haiku  50 in, 5 out                                     $0.05   Paris 01:50 on the 29th (+1)
 *   c5 21:30Z 29th  main     my-model 1,000 in, 100 out                         unknown     Paris 23:30 on the 29th (+2)
 *   c4 22:30Z 29th  main     opus   10 in, 1 out                                     $0.01   Paris 00:30 on the 30th (+2)
 *   tool calls: t1 Bash 22:41Z (fails), t2 Read 23:31Z, t3 Bash 00:51Z by the subagent.
 * run-b (project "shop") resumes it at 10:00Z on the 29th: it carries c1 again (the same
 * response) and makes c6 10:05Z, main, sonnet, 300 in, 30 out, $0.03 (Paris 12:05).
 */
function runs(): Record<string, unknown>[] {
  return [
    L("run-a", at("2026-03-28T22:30:00.000Z"), "execution:status", { status: "started", task_list_id: "shop" }),
    L("run-a", at("2026-03-28T22:30:00.000Z"), "agent:heartbeat", { instance_id: "run-a/main", status: "working", agent_type: "main" }),
    L("run-a", at("2026-03-29T00:45:00.000Z"), "agent:heartbeat", { instance_id: "run-a/explore-1", status: "working", agent_type: "Explore" }),
    call("run-a", "2026-03-28T22:40:00.000Z", "c1", "run-a/main", "claude-opus-4-6", [100, 10, 1000, 200], 0.1),
    ...tool("run-a", "2026-03-28T22:41:00.000Z", "2026-03-28T22:41:05.000Z", "t1", "run-a/main", "Bash", { command: "npm test" }, true),
    call("run-a", "2026-03-28T23:30:00.000Z", "c2", "run-a/main", "claude-opus-4-6", [200, 20, 0, 0, 300], 0.2),
    ...tool("run-a", "2026-03-28T23:31:00.000Z", "2026-03-28T23:31:01.000Z", "t2", "run-a/main", "Read", { file_path: "a.ts" }),
    call("run-a", "2026-03-29T00:50:00.000Z", "c3", "run-a/explore-1", "claude-haiku-4-5", [50, 5], 0.05),
    ...tool("run-a", "2026-03-29T00:51:00.000Z", "2026-03-29T00:51:02.000Z", "t3", "run-a/explore-1", "Bash", { command: "ls" }),
    call("run-a", "2026-03-29T21:30:00.000Z", "c5", "run-a/main", "my-model", [1000, 100]),
    call("run-a", "2026-03-29T22:30:00.000Z", "c4", "run-a/main", "claude-opus-4-6", [10, 1], 0.01),
    L("run-a", at("2026-03-29T22:31:00.000Z"), "execution:status", { status: "completed" }),
    L("run-b", at("2026-03-29T10:00:00.000Z"), "execution:status", { status: "started", task_list_id: "shop" }),
    L("run-b", at("2026-03-29T10:00:00.000Z"), "agent:heartbeat", { instance_id: "run-b/main", status: "working", agent_type: "main" }),
    call("run-b", "2026-03-28T22:40:00.000Z", "c1-again", "run-b/main", "claude-opus-4-6", [100, 10, 1000, 200], 0.1, "c1"),
    call("run-b", "2026-03-29T10:05:00.000Z", "c6", "run-b/main", "claude-sonnet-4-5", [300, 30], 0.03),
    L("run-b", at("2026-03-29T10:06:00.000Z"), "execution:status", { status: "completed" }),
  ];
}

let built: string | undefined;
async function db(): Promise<string> {
  if (built) return built;
  const p = tmpDb();
  const r = await cli(["ingest", writeJsonl(path.join(tmpDir(), "runs.jsonl"), runs()), "--db", p]);
  assert.equal(r.code, 0, r.stderr);
  return (built = p);
}

type Row = Record<string, unknown>;
async function usage(...args: string[]): Promise<Row[]> {
  const r = await cli(["usage", ...args, "--db", await db(), "--json"], { env: { OBS_NOW: "2026-03-29T23:00:00.000Z" } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return JSON.parse(r.stdout) as Row[];
}
const money = (v: unknown) => (v === null ? null : Math.round(Number(v) * 1e9) / 1e9);
/** The figures a test states by hand, of each row: its keys, tokens, cost, calls. */
function brief(rows: Row[], keys: string[]): Row[] {
  return rows.map((r) => ({
    ...Object.fromEntries(keys.map((k) => [k, r[k]])),
    ...(r.total ? { total: true } : {}),
    tokens: r.total_tokens, cost: money(r.cost_usd), unpriced: r.unpriced_calls, calls: r.model_calls, tools: r.tool_calls, errors: r.errors,
  }));
}

test("by day in UTC and in Paris across its change to summer time: each call on its own local day", async () => {
  assert.deepEqual(brief(await usage("--by", "day", "--tz", "UTC"), ["day"]), [
    // c1 + c2: 1,310 + 520 tokens; t1, t2; t1 failed.
    { day: "2026-03-28", tokens: 1830, cost: 0.3, unpriced: 0, calls: 2, tools: 2, errors: 1 },
    // c3 + c6 + c5 + c4: 55 + 330 + 1,100 + 11 tokens; $0.05 + $0.03 + $0.01 and one of unknown price; t3.
    { day: "2026-03-29", tokens: 1496, cost: 0.09, unpriced: 1, calls: 4, tools: 1, errors: 0 },
    { day: null, total: true, tokens: 3326, cost: 0.39, unpriced: 1, calls: 6, tools: 3, errors: 1 },
  ]);
  assert.deepEqual(brief(await usage("--by", "day", "--tz", "Europe/Paris"), ["day"]), [
    { day: "2026-03-28", tokens: 1310, cost: 0.1, unpriced: 0, calls: 1, tools: 1, errors: 1 },
    // c2, c3 (winter time), c6, c5 (summer time): 520 + 55 + 330 + 1,100.
    { day: "2026-03-29", tokens: 2005, cost: 0.28, unpriced: 1, calls: 4, tools: 2, errors: 0 },
    // c4 at 22:30 UTC is 00:30 in Paris only because the clocks moved: at winter time it would be the 29th.
    { day: "2026-03-30", tokens: 11, cost: 0.01, unpriced: 0, calls: 1, tools: 0, errors: 0 },
    { day: null, total: true, tokens: 3326, cost: 0.39, unpriced: 1, calls: 6, tools: 3, errors: 1 },
  ]);
  // New York is behind UTC: c1 and c2 fall on the 28th, c3 (20:50 on the 28th) too.
  assert.deepEqual((await usage("--by", "day", "--tz", "America/New_York")).map((r) => [r.day, r.model_calls]), [["2026-03-28", 3], ["2026-03-29", 3], [null, 6]]);
});

test("weeks from Monday and months in the zone", async () => {
  // Paris: Saturday the 28th and Sunday the 29th are the week of Monday the 23rd; c4 is Monday the 30th.
  assert.deepEqual((await usage("--by", "week", "--tz", "Europe/Paris")).map((r) => [r.week, r.model_calls]), [["2026-03-23", 5], ["2026-03-30", 1], [null, 6]]);
  assert.deepEqual((await usage("--by", "week", "--tz", "UTC")).map((r) => [r.week, r.model_calls]), [["2026-03-23", 6], [null, 6]]);
  assert.deepEqual((await usage("--by", "month", "--tz", "Pacific/Auckland")).map((r) => [r.month, r.model_calls]), [["2026-03", 6], [null, 6]]);
});

test("by model, agent, tool, session and project; the biggest spender first; replayed calls apart", async () => {
  assert.deepEqual(brief(await usage("--by", "model"), ["model"]), [
    { model: "claude-opus-4-6", tokens: 1841, cost: 0.31, unpriced: 0, calls: 3, tools: null, errors: null },
    { model: "claude-haiku-4-5", tokens: 55, cost: 0.05, unpriced: 0, calls: 1, tools: null, errors: null },
    { model: "claude-sonnet-4-5", tokens: 330, cost: 0.03, unpriced: 0, calls: 1, tools: null, errors: null },
    { model: "my-model", tokens: 1100, cost: null, unpriced: 1, calls: 1, tools: null, errors: null },
    // The total still counts the tool calls and errors that are no model's.
    { model: null, total: true, tokens: 3326, cost: 0.39, unpriced: 1, calls: 6, tools: 3, errors: 1 },
  ]);
  assert.deepEqual(brief(await usage("--by", "agent"), ["agent"]), [
    // Both sessions' main agents are one kind: c1, c2, c4, c5, c6.
    { agent: "main", tokens: 3271, cost: 0.34, unpriced: 1, calls: 5, tools: 2, errors: 1 },
    { agent: "Explore", tokens: 55, cost: 0.05, unpriced: 0, calls: 1, tools: 1, errors: 0 },
    { agent: null, total: true, tokens: 3326, cost: 0.39, unpriced: 1, calls: 6, tools: 3, errors: 1 },
  ]);
  assert.deepEqual(brief(await usage("--by", "tool"), ["tool"]), [
    { tool: "Bash", tokens: null, cost: null, unpriced: null, calls: null, tools: 2, errors: 1 },
    { tool: "Read", tokens: null, cost: null, unpriced: null, calls: null, tools: 1, errors: 0 },
    { tool: null, total: true, tokens: 3326, cost: 0.39, unpriced: 1, calls: 6, tools: 3, errors: 1 },
  ]);
  const sessions = await usage("--by", "session");
  assert.deepEqual(brief(sessions, ["session"]), [
    { session: "run-a", tokens: 2996, cost: 0.36, unpriced: 1, calls: 5, tools: 3, errors: 1 },
    { session: "run-b", tokens: 330, cost: 0.03, unpriced: 0, calls: 1, tools: 0, errors: 0 },
    { session: null, total: true, tokens: 3326, cost: 0.39, unpriced: 1, calls: 6, tools: 3, errors: 1 },
  ]);
  // run-b's copy of c1 is run-a's spending: shown apart, never in a total.
  assert.deepEqual(sessions.map((r) => [r.replayed_model_calls, r.replayed_tokens, money(r.replayed_cost_usd)]), [[0, null, null], [1, 1310, 0.1], [1, 1310, 0.1]]);
  assert.deepEqual(brief(await usage("--by", "project,session"), ["project", "session"]).map((r) => [r.project, r.session, r.calls]), [
    ["shop", "run-a", 5], ["shop", "run-b", 1], [null, null, 6],
  ]);
});

test("several keys at once, nested: each day's models by what they cost", async () => {
  assert.deepEqual((await usage("--by", "day,model", "--tz", "UTC")).map((r) => [r.day, r.model, r.model_calls, money(r.cost_usd)]), [
    ["2026-03-28", "claude-opus-4-6", 2, 0.3],
    ["2026-03-29", "claude-haiku-4-5", 1, 0.05],
    ["2026-03-29", "claude-sonnet-4-5", 1, 0.03],
    ["2026-03-29", "claude-opus-4-6", 1, 0.01],
    ["2026-03-29", "my-model", 1, null],
    [null, null, 6, 0.39],
  ]);
  const row = (await usage("--by", "agent,model,day,session"))[0]!;
  assert.deepEqual(Object.keys(row).slice(0, 5), ["agent", "model", "day", "session", "total"]);
});

test("--since and --until: dates in the zone, ages from now", async () => {
  // From midnight on the 29th in Paris (23:00 UTC on the 28th): c2, c3, c6, c5, c4.
  assert.deepEqual((await usage("--by", "day", "--tz", "Europe/Paris", "--since", "2026-03-29")).map((r) => [r.day, r.model_calls]), [["2026-03-29", 4], ["2026-03-30", 1], [null, 5]]);
  assert.deepEqual((await usage("--by", "day", "--tz", "UTC", "--since", "2026-03-29")).map((r) => [r.day, r.model_calls]), [["2026-03-29", 4], [null, 4]]);
  assert.deepEqual((await usage("--by", "day", "--tz", "UTC", "--until", "2026-03-29T00:00Z")).map((r) => [r.day, r.model_calls]), [["2026-03-28", 2], [null, 2]]);
  // "Now" is 23:00 UTC on the 29th: the last 2 hours hold c5 and c4, the last 7 days everything.
  assert.deepEqual((await usage("--by", "model", "--since", "2h")).map((r) => [r.model, r.model_calls]), [["claude-opus-4-6", 1], ["my-model", 1], [null, 2]]);
  assert.equal((await usage("--by", "agent", "--since", "7d")).at(-1)!.model_calls, 6);
  assert.deepEqual(await usage("--since", "2026-04-01"), [], "nothing in the range: an empty array");
  assert.deepEqual((await usage("--by", "session", "--exec", "run-b")).map((r) => r.session), ["run-b", null]);
  assert.deepEqual((await usage("--by", "session", "--project", "shop", "--since", "2026-04-01")), [], "a project with nothing in the range: an empty array");
});

test("for people: a table with a total row, unknown prices as +?, what is left out said; bars only on a terminal", async () => {
  const env = { OBS_NOW: "2026-03-29T23:00:00.000Z" };
  const r = await cli(["usage", "--by", "day,model", "--tz", "UTC", "--db", await db()], { env, columns: 160 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "Usage by day, model · UTC · the first record → now");
  assert.match(lines[1]!, /^ DAY +MODEL +INPUT +OUTPUT +CACHE READ +WRITE 5M +WRITE 1H +TOKENS +COST +MODEL CALLS +TOOL CALLS +ERRORS$/);
  assert.match(lines[2]!, /^ 2026-03-28 +claude-opus-4-6 +300 +30 +1,000 +200 +300 +1,830 +\$0\.3000 +2 +— +—$/);
  assert.match(lines[3]!, /^ 2026-03-29 +claude-haiku-4-5 /);
  assert.match(lines[4]!, /^ {12,}claude-sonnet-4-5 /, "a day repeated from the row above is left blank");
  assert.match(lines[6]!, /^ {12,}my-model +1,000 +100 +0 +0 +0 +1,100 +unknown +1 /);
  assert.match(lines[7]!, /^ TOTAL +1,660 +166 +1,000 +200 +300 +3,326 +\$0\.3900\+\? +6 +3 +1$/);
  assert.match(r.stdout, /1 model call is of a model with no known price: counted, not costed \(\+\?\)/);
  assert.match(r.stdout, /not counted: 1 model calls \(1,310 tokens, \$0\.1000\) that resumed or forked sessions carry/);
  assert.doesNotMatch(r.stdout, /█/, "no bars in a pipe");
  const tty = await cli(["usage", "--by", "model", "--db", await db()], { env, columns: 200, tty: true });
  // The bar is to the scale of the costliest row: opus $0.31 full, haiku $0.05 ≈ 1.9 of 12 cells.
  assert.match(tty.stdout, /claude-opus-4-6 .*\$0\.3100 +████████████ /);
  assert.match(tty.stdout, /claude-haiku-4-5 .*\$0\.0500 +█▉ /);
  assert.match(tty.stdout, /my-model .*unknown {3,}\d/);
  const empty = await cli(["usage", "--since", "2026-05-01", "--db", await db()], { env });
  assert.match(empty.stdout, /no model calls, tool calls or errors in this range/);
});

test("--ndjson: one row a line, the total last", async () => {
  const r = await cli(["usage", "--by", "agent", "--ndjson", "--db", await db()], { env: { OBS_NOW: "2026-03-29T23:00:00.000Z" } });
  const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Row);
  assert.deepEqual(rows.map((x) => [x.agent, x.total]), [["main", false], ["Explore", false], [null, true]]);
});

test("the user's mistakes: an unknown key or zone, too many keys, a window that ends before it starts", async () => {
  const bad: [string[], RegExp][] = [
    [["--by", "hour"], /obs: --by: no key 'hour'\n {2}the keys: day, week, month, session, project, model, agent, tool/],
    [["--by", "day,day"], /--by names 'day' twice/],
    [["--by", "day,model,agent,tool,session"], /--by takes at most 4 keys, got 5/],
    [["--tz", "Europe/Pariss"], /--tz: unknown time zone 'Europe\/Pariss'/],
    [["--since", "2026-03-29", "--until", "2026-03-28"], /--since \(2026-03-29T00:00:00.000Z\) must be before --until/],
    [["--since", "last week"], /--since must be a date .* got 'last week'/],
    [["--blocks", "--by", "day"], /--blocks groups by 5-hour window: leave out --by/],
    [["--exec", "nope"], /no execution 'nope'/],
    // A project no run has is said, with the closest, as an unknown execution is (it printed an empty table, exit 0).
    [["--project", "nope"], /^obs: no project 'nope'\n {2}closest: \S/],
    [["--blocks", "--project", "nope"], /^obs: no project 'nope'/],
  ];
  for (const [args, err] of bad) {
    const r = await cli(["usage", ...args, ...(args.includes("--tz") ? [] : ["--tz", "UTC"]), "--db", await db()]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "", args.join(" "));
    assert.match(r.stderr, err, args.join(" "));
  }
  const none = spawnCli(["usage", "--db", path.join(tmpDir(), "missing.db")]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing\.db/);
});

test("5-hour blocks: each from the hour of its first call; the active one's burn rate and projection", async () => {
  const blocks = await usage("--blocks");
  // Own calls at 22:40, 23:30, 00:50 | 10:05 | 21:30, 22:30 (UTC): windows from 22:00, 10:00 and 21:00.
  assert.deepEqual(blocks.map((b) => [b.block_start, b.block_end, b.model_calls, b.total_tokens, money(b.cost_usd), b.unpriced_calls, b.active]), [
    ["2026-03-28T22:00:00.000Z", "2026-03-29T03:00:00.000Z", 3, 1885, 0.35, 0, false],
    ["2026-03-29T10:00:00.000Z", "2026-03-29T15:00:00.000Z", 1, 330, 0.03, 0, false],
    ["2026-03-29T21:00:00.000Z", "2026-03-30T02:00:00.000Z", 2, 1111, 0.01, 1, true],
  ]);
  assert.deepEqual(blocks[0]!.models, ["claude-haiku-4-5", "claude-opus-4-6"]);
  // Now 23:00: 90 minutes since the block's first call (21:30), 180 left. 1,111 tokens / 90 min =
  // 12.3 a minute, and 1,111 + 1,111 × 180/90 = 3,333 by 02:00; $0.01 / 1.5 h = $0.0067/h, $0.03 by then.
  const active = blocks[2]!;
  assert.deepEqual([active.remaining_ms, active.tokens_per_minute, active.usd_per_hour, active.projected_tokens, money(active.projected_cost_usd)],
    [180 * 60_000, 12.3, 0.0067, 3333, 0.03]);
  assert.equal(blocks[0]!.tokens_per_minute, null);
  const r = await cli(["usage", "--blocks", "--tz", "Europe/Paris", "--db", await db()], { env: { OBS_NOW: "2026-03-29T23:00:00.000Z" }, columns: 160 });
  assert.match(r.stdout, /^Usage in 5-hour blocks · Europe\/Paris · the first record → now\n/);
  assert.match(r.stdout, /\n 2026-03-28 23:00 +2026-03-29 05:00 +done +haiku-4-5, opus-4-6 +3 /, "shown in Paris time, across the change");
  assert.match(r.stdout, /\n 2026-03-29 23:00 +2026-03-30 04:00 +ACTIVE +opus-4-6, my-model +2 /);
  assert.match(r.stdout, /Active block 2026-03-29 23:00 → 04:00 \(3h 00m left\)\n {2}so far {5}1,111 tokens, \$0\.0100 \(\+ 1 calls of unknown price\) in 2 model calls since 23:30\n {2}burn rate {2}12 tokens\/min, \$0\.0067\/h\n {2}projected {2}3,333 tokens, \$0\.0300 by 04:00 at this rate/);
  const later = await cli(["usage", "--blocks", "--tz", "UTC", "--db", await db()], { env: { OBS_NOW: "2026-03-30T09:00:00.000Z" } });
  assert.match(later.stdout, /no active block: the last ended 2026-03-30 02:00/);
  // A window that only touches the first block still shows it whole.
  assert.deepEqual((await usage("--blocks", "--until", "2026-03-28T23:00Z")).map((b) => b.model_calls), [3]);
});

test("a database another producer wrote, without obs's newer columns or tables, is reported as far as it goes", async () => {
  const p = path.join(tmpDir(), "foreign.db");
  const raw = new Database(p);
  raw.exec(`CREATE TABLE llm_calls (id TEXT PRIMARY KEY, execution_id TEXT, model TEXT, input_tokens INTEGER, output_tokens INTEGER,
              cache_read_tokens INTEGER, cache_write_tokens INTEGER, cost_usd REAL, start_time TEXT, end_time TEXT, instance_id TEXT)`);
  raw.exec(`CREATE TABLE tool_uses (id TEXT PRIMARY KEY, execution_id TEXT, tool TEXT, input TEXT, start_time TEXT, is_error INTEGER DEFAULT 0)`);
  raw.prepare(`INSERT INTO llm_calls VALUES ('x1', 'py-run', 'gpt-x', 100, 10, NULL, NULL, 0.5, '2026-01-16 09:00:00', '2026-01-16 09:00:02', 'worker-7')`).run();
  raw.prepare(`INSERT INTO llm_calls VALUES ('x2', 'py-run', 'gpt-x', 200, 20, NULL, NULL, NULL, '2026-01-16 23:30:00', '2026-01-16 23:30:05', 'worker-7')`).run();
  raw.prepare(`INSERT INTO tool_uses VALUES ('t1', 'py-run', 'shell', '{"cmd":"ls"}', '2026-01-16 09:00:03', 1)`).run();
  raw.close();
  const before = fs.readFileSync(p);
  const r = spawnCli(["usage", "--by", "day,agent", "--tz", "Asia/Tokyo", "--db", p, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  // Tokyo is 9 hours ahead: x2 at 23:30 UTC is the 17th there. The agent is its id's kind.
  assert.deepEqual((JSON.parse(r.stdout) as Row[]).map((x) => [x.day, x.agent, x.total_tokens, x.cost_usd, x.unpriced_calls, x.tool_calls, x.errors]), [
    ["2026-01-16", "worker", 110, 0.5, 0, 0, 0],
    ["2026-01-16", null, null, null, 0, 1, 1],
    ["2026-01-17", "worker", 220, null, 1, 0, 0],
    [null, null, 330, 0.5, 1, 1, 1],
  ]);
  assert.equal(spawnCli(["usage", "--blocks", "--db", p, "--json"]).code, 0);
  assert.deepEqual(fs.readFileSync(p), before, "the file is left as it was");
});

test("the report's errors are the ones obs errors and obs summary count, execution by execution", () => {
  const demo = path.join(tmpDir(), "demo.db");
  assert.equal(spawnCli(["demo", "--db", demo]).code, 0);
  const rows = JSON.parse(spawnCli(["usage", "--by", "session", "--db", demo, "--json"]).stdout) as Row[];
  for (const exec of ["exec-101", "exec-102", "exec-103"]) {
    const a = JSON.parse(spawnCli(["summary", exec, "--db", demo, "--json"]).stdout).A001[0];
    const u = rows.find((x) => x.session === exec)!;
    assert.deepEqual([u.errors, u.tool_calls, u.model_calls, u.total_tokens, money(u.cost_usd)],
      [a.errors, a.tool_calls, a.model_calls, a.input_tokens + a.output_tokens + a.cache_read_tokens + a.cache_write_tokens + (a.cache_write_1h_tokens ?? 0), money(a.cost_usd)], exec);
  }
  assert.ok((rows.find((x) => x.session === "exec-103")!.errors as number) > 10, "exec-103 has errors of several kinds");
});

test("obs summary: who spent what in a run, agent by agent, with its share of the cost", async () => {
  const r = await cli(["summary", "run-a", "--db", await db(), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  // main: c1, c2, c4 priced ($0.31) and c5 not; the subagent c3 ($0.05): shares of $0.36.
  assert.deepEqual((JSON.parse(r.stdout).agents as Row[]).map((a) => [a.instance_id, a.agent_type, a.model_calls, a.unpriced_calls, a.total_tokens, money(a.cost_usd), a.cost_share, a.tool_calls]), [
    ["run-a/main", "main", 4, 1, 2941, 0.31, 0.8611, 2],
    ["run-a/explore-1", "Explore", 1, 0, 55, 0.05, 0.1389, 1],
  ]);
  const human = await cli(["summary", "run-a", "--db", await db()], { columns: 120 });
  assert.match(human.stdout, /Cost by agent  2\n +AGENT +TYPE +MODEL CALLS +TOOL CALLS +TOKENS +COST +SHARE\n +run-a\/main +main +4 +2 +2,941 +\$0\.3100\+\? +86\.1% ████████▋\n +run-a\/explore-1 +Explore +1 +1 +55 +\$0\.0500 +13\.9% █▍\n/);
  // run-b's copy of c1 is run-a's: run-b's main spent only c6.
  const b = JSON.parse((await cli(["summary", "run-b", "--db", await db(), "--json"])).stdout);
  assert.deepEqual(b.agents.map((a: Row) => [a.instance_id, a.model_calls, money(a.cost_usd), a.cost_share]), [["run-b/main", 1, 0.03, 1]]);
});
