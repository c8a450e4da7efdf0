/**
 * Spending on the real Claude Code sessions (others' files, read where they are): obs usage's
 * figures equal the sums of the sessions' model calls counted here independently of obs — by a
 * short reader of the raw JSONL (each API response once, by message.id, with its largest usage,
 * the echoes of subagents' responses in progress lines included once) priced with Anthropic's
 * published rates — and the loop detector stays silent on them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, cli, ROOT, tmpDb } from "./helpers.js";

/** Where the fixtures are: the one place to change when they move. */
const FIXTURES = path.join(ROOT, "test", "fixtures", "claude-code");

/** US dollars per million tokens: input, output, cache read, 5-minute write, 1-hour write; and past 200k input. */
const RATES: [prefix: string, rates: number[], long?: number[]][] = [
  ["claude-opus-4-6", [5, 25, 0.5, 6.25, 10], [10, 37.5, 1, 12.5, 20]],
  ["claude-sonnet-4", [3, 15, 0.3, 3.75, 6], [6, 22.5, 0.6, 7.5, 12]],
  ["claude-haiku-4-5", [1, 5, 0.1, 1.25, 2]],
];

interface Response { id: string; model: string; at: string; input: number; output: number; read: number; w5: number; w1: number }
const tokens = (r: Response) => r.input + r.output + r.read + r.w5 + r.w1;
function cost(r: Response): number {
  const [, rates, long] = RATES.find(([p]) => r.model.startsWith(p))!;
  const [i, o, c, w5, w1] = long && r.input + r.read + r.w5 + r.w1 > 200_000 ? long : rates;
  return (r.input * i! + r.output * o! + r.read * c! + r.w5 * w5! + r.w1 * w1!) / 1e6;
}

function jsonlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? jsonlFiles(p) : d.name.endsWith(".jsonl") ? [p] : [];
  });
}

/** Every API response in the fixtures once: its largest usage, and the time of its last line. */
function responses(): Response[] {
  const out = new Map<string, Response>();
  const take = (m: Record<string, any> | undefined, at: string) => {
    if (!m?.usage || typeof m.id !== "string" || m.model === "<synthetic>") return;
    const u = m.usage;
    const cc = u.cache_creation;
    const r = out.get(m.id) ?? { id: m.id, model: m.model, at, input: 0, output: 0, read: 0, w5: 0, w1: 0 };
    r.input = Math.max(r.input, u.input_tokens ?? 0);
    r.output = Math.max(r.output, u.output_tokens ?? 0);
    r.read = Math.max(r.read, u.cache_read_input_tokens ?? 0);
    r.w5 = Math.max(r.w5, cc ? (cc.ephemeral_5m_input_tokens ?? 0) : (u.cache_creation_input_tokens ?? 0));
    r.w1 = Math.max(r.w1, cc ? (cc.ephemeral_1h_input_tokens ?? 0) : 0);
    if (at > r.at) r.at = at;
    out.set(m.id, r);
  };
  for (const file of jsonlFiles(FIXTURES)) {
    for (const l of fs.readFileSync(file, "utf8").split("\n")) {
      if (!l.trim()) continue;
      const o = JSON.parse(l);
      const at = o.timestamp ? new Date(o.timestamp).toISOString() : "";
      if (o.type === "assistant") take(o.message, at);
      if (o.type === "progress" && o.data?.type === "agent_progress" && o.data.message?.type === "assistant") {
        take(o.data.message.message, o.data.message.timestamp ? new Date(o.data.message.timestamp).toISOString() : at);
      }
    }
  }
  return [...out.values()];
}

interface Sums { calls: number; tokens: number; input: number; output: number; read: number; w5: number; w1: number; cost: number }
function sum(rs: Response[]): Sums {
  return rs.reduce((s, r) => ({
    calls: s.calls + 1, tokens: s.tokens + tokens(r), input: s.input + r.input, output: s.output + r.output, read: s.read + r.read,
    w5: s.w5 + r.w5, w1: s.w1 + r.w1, cost: s.cost + cost(r),
  }), { calls: 0, tokens: 0, input: 0, output: 0, read: 0, w5: 0, w1: 0, cost: 0 });
}
type Row = Record<string, any>;
const figures = (r: Row): Sums => ({
  calls: r.model_calls, tokens: r.total_tokens, input: r.input_tokens, output: r.output_tokens, read: r.cache_read_tokens,
  w5: r.cache_write_tokens, w1: r.cache_write_1h_tokens, cost: r.cost_usd,
});
function assertSums(got: Sums, want: Sums, what: string): void {
  assert.deepEqual({ ...got, cost: 0 }, { ...want, cost: 0 }, what);
  assert.ok(Math.abs(got.cost - want.cost) < 1e-6, `${what}: cost ${got.cost} ≠ ${want.cost}`);
}

let built: string | undefined;
async function db(): Promise<string> {
  if (built) return built;
  const p = tmpDb();
  const r = await cli(["ingest", FIXTURES, "--db", p]);
  assert.equal(r.code, 0, r.stderr);
  return (built = p);
}
/** The sessions' last day was 2026-02-12; "now" is the next midnight. */
const env = { OBS_NOW: "2026-02-13T00:00:00.000Z" };
async function usage(...args: string[]): Promise<Row[]> {
  const r = await cli(["usage", ...args, "--db", await db(), "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Row[];
}

test("obs usage --by day,model: every day's models as the raw sessions add up", async () => {
  const want = new Map<string, Response[]>();
  for (const r of responses()) {
    const key = `${r.at.slice(0, 10)} ${r.model}`;
    want.set(key, [...(want.get(key) ?? []), r]);
  }
  const rows = await usage("--by", "day,model", "--tz", "UTC");
  const total = rows.pop()!;
  assert.equal(total.total, true);
  assert.deepEqual(rows.map((r) => `${r.day} ${r.model}`).sort(), [...want.keys()].sort());
  for (const r of rows) assertSums(figures(r), sum(want.get(`${r.day} ${r.model}`)!), `${r.day} ${r.model}`);
  assertSums(figures(total), sum(responses()), "total");
  assert.equal(total.model_calls, 463);
  assert.equal(total.unpriced_calls, 0);
  assert.equal(total.replayed_model_calls, 0, "no fixture session carries another's responses");
  // The days run in time order; within a day the costlier model first.
  assert.deepEqual(rows.map((r) => r.day), [...rows.map((r) => r.day)].sort());
  for (let i = 1; i < rows.length; i++) if (rows[i]!.day === rows[i - 1]!.day) assert.ok(rows[i - 1]!.cost_usd >= rows[i]!.cost_usd);
});

test("obs usage --by agent --since 7d: the last week's spending by kind of agent", async () => {
  const rows = await usage("--by", "agent", "--since", "7d");
  const total = rows.pop()!;
  // The week before 2026-02-13 holds the four February sessions.
  assertSums(figures(total), sum(responses().filter((r) => r.at >= "2026-02-06T00:00:00.000Z")), "the week's total");
  // Each kind of agent: its own calls, as the llm_calls rows and their agents' types say.
  const byType = all(await db(), `
    SELECT a.agent_type AS agent, COUNT(*) AS calls, SUM(l.cost_usd) AS cost,
           SUM(l.input_tokens + l.output_tokens + l.cache_read_tokens + l.cache_write_tokens + l.cache_write_1h_tokens) AS tokens
      FROM llm_calls l JOIN build_agent_instances a ON a.id = l.instance_id
     WHERE l.end_time >= '2026-02-06'
     GROUP BY a.agent_type ORDER BY cost DESC`);
  assert.deepEqual(rows.map((r) => [r.agent, r.model_calls, r.total_tokens]), byType.map((r) => [r.agent, r.calls, r.tokens]));
  for (const [i, r] of rows.entries()) assert.ok(Math.abs(r.cost_usd - Number(byType[i]!.cost)) < 1e-9);
  assert.deepEqual(rows.map((r) => r.agent), ["main", "Explore", "compaction", "Plan"]);
});

test("obs usage --blocks: the 5-hour windows as the raw responses fall in them", async () => {
  // Each window from the hour of the first response after the last window ended, five hours long.
  const sorted = responses().sort((a, b) => (a.at < b.at ? -1 : 1));
  const want: { start: string; rs: Response[] }[] = [];
  for (const r of sorted) {
    const last = want[want.length - 1];
    if (last && Date.parse(r.at) < Date.parse(last.start) + 5 * 3_600_000) last.rs.push(r);
    else want.push({ start: `${r.at.slice(0, 13)}:00:00.000Z`, rs: [r] });
  }
  const blocks = await usage("--blocks");
  assert.deepEqual(blocks.map((b) => b.block_start), want.map((w) => w.start));
  for (const [i, b] of blocks.entries()) {
    const s = sum(want[i]!.rs);
    assert.deepEqual([b.model_calls, b.total_tokens, b.input_tokens, b.output_tokens], [s.calls, s.tokens, s.input, s.output], b.block_start);
    assert.ok(Math.abs(b.cost_usd - s.cost) < 1e-6, b.block_start);
  }
  assert.ok(blocks.every((b) => !b.active), "midnight on the 13th is after every window");
  // At 17:00 on the 12th the window from 15:00 is running: its pace over the 84 minutes since its first call.
  const r = await cli(["usage", "--blocks", "--json", "--db", await db()], { env: { OBS_NOW: "2026-02-12T17:00:00.000Z" } });
  const active = (JSON.parse(r.stdout) as Row[]).filter((b) => b.active);
  assert.equal(active.length, 1);
  const first = Date.parse(active[0]!.first_at);
  const minutes = (Date.parse("2026-02-12T17:00:00.000Z") - first) / 60_000;
  assert.equal(active[0]!.tokens_per_minute, Math.round((active[0]!.total_tokens / minutes) * 10) / 10);
  assert.equal(active[0]!.projected_tokens, Math.round(active[0]!.total_tokens + (active[0]!.total_tokens / minutes) * 180));
});

test("D007 stays silent on the real sessions: no agent repeated one call 5 times", async () => {
  const all = await cli(["query", "D007", "--all", "--json", "--db", await db()]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(JSON.parse(all.stdout), []);
  // It does see the repeats there are: an agent ran `mix compile 2>&1` three times in 77 s.
  const three = JSON.parse((await cli(["query", "D007", "fa812bfe", "--set", "min_calls=3", "--json", "--db", await db()])).stdout) as Row[];
  assert.deepEqual(three.map((r) => [r.tool, r.input_summary, r.calls, r.in_a_row]), [["Bash", "mix compile 2>&1", 3, 0]]);
});

test("obs summary's cost by agent: each subagent's file holds its calls, the main agent the rest", async () => {
  const session = "fa812bfe-b295-4cca-9c2f-fdf01028cb46";
  const r = await cli(["summary", session, "--json", "--db", await db()]);
  const agents = JSON.parse(r.stdout).agents as Row[];
  const dir = path.join(FIXTURES, "marot-spotter", session, "subagents");
  const ids = (file: string) => new Set(fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
    .filter((o) => o.type === "assistant" && o.message?.usage && o.message.model !== "<synthetic>").map((o) => o.message.id as string));
  const everyone = responses().filter((x) => ids(path.join(FIXTURES, "marot-spotter", `${session}.jsonl`)).has(x.id) ||
    fs.readdirSync(dir).some((f) => ids(path.join(dir, f)).has(x.id)));
  let subagents = 0;
  for (const f of fs.readdirSync(dir)) {
    const mine = responses().filter((x) => ids(path.join(dir, f)).has(x.id));
    const row = agents.find((a) => a.instance_id === `${session}/${f.replace(/^agent-|\.jsonl$/g, "")}`)!;
    assertSums(figures(row), sum(mine), f);
    subagents += mine.length;
  }
  const main = agents.find((a) => a.agent_type === "main")!;
  assert.equal(main.model_calls, everyone.length - subagents);
  assert.deepEqual(agents.map((a) => a.agent_type), ["main", "compaction", "Explore", "Explore"]);
  assert.ok(Math.abs(agents.reduce((n, a) => n + a.cost_share, 0) - 1) < 0.001);
});
