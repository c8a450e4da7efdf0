/**
 * Every token at its true price: 1-hour cache writes at twice the input price, 5-minute ones at
 * 1.25×, long-context rates past 200k input tokens, a user's price table, and Claude Code's own
 * lines that are no model call. Expected costs are worked out here from the raw files with
 * Anthropic's published rates, not with obs's price table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, cli, one, ROOT, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const FIXTURES = path.join(ROOT, "test", "fixtures", "claude-code");

/** US dollars per million tokens: input, output, cache read, 5-minute write, 1-hour write. */
const RATES: [prefix: string, rates: number[]][] = [
  ["claude-opus-4-6", [5, 25, 0.5, 6.25, 10]],
  ["claude-sonnet-4", [3, 15, 0.3, 3.75, 6]],
  ["claude-haiku-4-5", [1, 5, 0.1, 1.25, 2]],
];

type U = { model: string; input: number; output: number; read: number; w5: number; w1: number };

/** The responses of one session file, counted independently: each message id once, its largest usage. */
function responsesOf(file: string): Map<string, U> {
  const out = new Map<string, U>();
  const take = (m: Record<string, any> | undefined) => {
    if (!m?.usage || typeof m.id !== "string" || m.model === "<synthetic>") return;
    const u = m.usage;
    const cc = u.cache_creation;
    const r = out.get(m.id) ?? { model: m.model, input: 0, output: 0, read: 0, w5: 0, w1: 0 };
    r.input = Math.max(r.input, u.input_tokens ?? 0);
    r.output = Math.max(r.output, u.output_tokens ?? 0);
    r.read = Math.max(r.read, u.cache_read_input_tokens ?? 0);
    r.w5 = Math.max(r.w5, cc ? (cc.ephemeral_5m_input_tokens ?? 0) : (u.cache_creation_input_tokens ?? 0));
    r.w1 = Math.max(r.w1, cc ? (cc.ephemeral_1h_input_tokens ?? 0) : 0);
    out.set(m.id, r);
  };
  for (const l of fs.readFileSync(file, "utf8").split("\n")) {
    if (!l.trim()) continue;
    const o = JSON.parse(l);
    if (o.type === "assistant") take(o.message);
    if (o.type === "progress" && o.data?.type === "agent_progress" && o.data.message?.type === "assistant") take(o.data.message.message);
  }
  return out;
}

function priced(u: U, oneHourAsFiveMinute = false): number {
  const rates = RATES.find(([p]) => u.model.startsWith(p))![1];
  const [i, o, r, w5, w1] = rates;
  return (u.input * i! + u.output * o! + u.read * r! + u.w5 * w5! + u.w1 * (oneHourAsFiveMinute ? w5! : w1!)) / 1e6;
}

test("1-hour cache writes are priced at twice the input price, apart from 5-minute ones", async () => {
  const db = tmpDb();
  const files = ["short.jsonl", "tool_heavy.jsonl", "subagent.jsonl"].map((f) => path.join(FIXTURES, "marot-spotter", f));
  for (const f of files) assert.equal((await cli(["ingest", f, "--db", db])).code, 0);
  for (const f of files) {
    const responses = [...responsesOf(f).values()];
    const session = fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).sessionId).find(Boolean) as string;
    const got = one(db, `SELECT SUM(cost_usd) AS cost, SUM(cache_write_tokens) AS w5, SUM(cache_write_1h_tokens) AS w1, COUNT(*) AS n
                           FROM llm_calls WHERE execution_id = ?`, session)!;
    const expected = responses.reduce((n, u) => n + priced(u), 0);
    assert.equal(got.n, responses.length, f);
    assert.equal(got.w5, responses.reduce((n, u) => n + u.w5, 0), f);
    assert.equal(got.w1, responses.reduce((n, u) => n + u.w1, 0), f);
    assert.ok(Math.abs(Number(got.cost) - expected) < 1e-6, `${f}: ${got.cost} ≠ ${expected}`);
    // Priced as 5-minute writes these sessions would come out cheaper: the difference is real.
    const asFiveMinute = responses.reduce((n, u) => n + priced(u, true), 0);
    assert.ok(expected > asFiveMinute * 1.05, `${f}: 1-hour writes must matter (${expected} vs ${asFiveMinute})`);
  }
});

const claudeLine = (n: number, usage: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "assistant", sessionId: "11111111-2222-3333-4444-555555555555", uuid: `u-${n}`, timestamp: `2026-03-01T10:00:0${n}.000Z`,
  message: { id: `msg_${n}`, model: "claude-sonnet-4-5-20250929", role: "assistant", content: [{ type: "text", text: `reply ${n}` }], usage },
  ...extra,
});

test("a request over 200k input tokens pays the long-context rates for all its tokens", async () => {
  const db = tmpDb();
  const file = writeJsonl(path.join(tmpDir(), "p", "11111111-2222-3333-4444-555555555555.jsonl"), [
    // 150k input + 40k cache read + 5k write = 195k: the standard rates.
    claudeLine(1, { input_tokens: 150_000, output_tokens: 1000, cache_read_input_tokens: 40_000, cache_creation_input_tokens: 5000 }),
    // 150k input + 60k cache read = 210k: over the threshold, every token at the long-context rate.
    claudeLine(2, { input_tokens: 150_000, output_tokens: 1000, cache_read_input_tokens: 60_000, cache_creation_input_tokens: 0 }),
  ]);
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  const costs = all(db, `SELECT cost_usd FROM llm_calls ORDER BY start_time`).map((r) => r.cost_usd);
  // Sonnet 4.5: $3/$15, reads $0.30, 5-minute writes $3.75; long context $6/$22.50, reads $0.60.
  const standard = (150_000 * 3 + 1000 * 15 + 40_000 * 0.3 + 5000 * 3.75) / 1e6;
  const long = (150_000 * 6 + 1000 * 22.5 + 60_000 * 0.6) / 1e6;
  assert.deepEqual(costs, [Math.round(standard * 1e8) / 1e8, Math.round(long * 1e8) / 1e8]);
});

test("a price table of one's own: cache_write_1h priced, or twice the input price when left out; a bad one named", async () => {
  const dir = tmpDir();
  const prices = path.join(dir, "prices.json");
  fs.writeFileSync(prices, JSON.stringify({ "my-model": { input: 1, output: 2, cache_read: 0.1, cache_write: 1.25 }, "other": { input: 1, output: 2, cache_read: 0.1, cache_write: 1.25, cache_write_1h: 3 } }));
  const file = writeJsonl(path.join(dir, "e.jsonl"), ["my-model", "other"].map((model, i) => ({
    kind: "llm:call", execution_id: "e", timestamp: `2026-03-01T10:00:0${i}.000Z`, model, input_tokens: 1_000_000, output_tokens: 0,
    cache_write_1h_tokens: 1_000_000,
  })));
  // obs's own stream carries costs from its producer; a price table prices adapted formats.
  const db = path.join(dir, "obs.db");
  const cc = writeJsonl(path.join(dir, "p", "11111111-2222-3333-4444-555555555555.jsonl"), [
    { ...claudeLine(1, { input_tokens: 1_000_000, output_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000_000 }, cache_creation_input_tokens: 1_000_000 }), message: { ...claudeLine(1, {}).message, model: "my-model", usage: { input_tokens: 1_000_000, output_tokens: 0, cache_creation_input_tokens: 1_000_000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000_000 } } } },
  ]);
  assert.equal((await cli(["ingest", cc, "--db", db, "--prices", prices])).code, 0);
  assert.equal(one(db, `SELECT cost_usd FROM llm_calls`)?.cost_usd, 1 + 2, "input $1 + 1-hour writes at 2 × input");
  void file;
  fs.writeFileSync(prices, JSON.stringify({ "m": { input: 1, output: 2, cache_read: 0.1, cache_write: 1.25, cache_write_1h: "two" } }));
  const bad = await cli(["ingest", cc, "--db", tmpDb(), "--prices", prices]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /prices\.json: m\.cache_write_1h must be a number of US dollars per million tokens/);
});

test("Claude Code's own lines: an API error is an error, a note is not, and neither is a model call", async () => {
  const db = tmpDb();
  const s = "11111111-2222-3333-4444-555555555555";
  const file = writeJsonl(path.join(tmpDir(), "p", `${s}.jsonl`), [
    { type: "user", sessionId: s, uuid: "u-0", timestamp: "2026-03-01T10:00:00.000Z", message: { role: "user", content: "hello" } },
    { type: "assistant", sessionId: s, uuid: "u-1", timestamp: "2026-03-01T10:00:01.000Z", message: { id: "m1", model: "<synthetic>", role: "assistant", content: [{ type: "text", text: "No response requested." }], usage: { input_tokens: 0, output_tokens: 0 } } },
    { type: "assistant", sessionId: s, uuid: "u-2", timestamp: "2026-03-01T10:00:02.000Z", isApiErrorMessage: true, message: { id: "m2", model: "<synthetic>", role: "assistant", content: [{ type: "text", text: "API Error: 529 Overloaded" }], usage: { input_tokens: 0, output_tokens: 0 } } },
  ]);
  assert.equal((await cli(["ingest", file, "--db", db])).code, 0);
  assert.deepEqual(all(db, `SELECT entry_type, category, summary FROM transcript_entries WHERE category IN ('synthetic', 'api_error') ORDER BY timestamp`).map((r) => ({ ...r })), [
    { entry_type: "discovery", category: "synthetic", summary: "No response requested." },
    { entry_type: "error", category: "api_error", summary: "API Error: 529 Overloaded" },
  ]);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM llm_calls`)?.n, 0);
  const errors = await cli(["errors", s, "--json", "--db", db]);
  assert.deepEqual((JSON.parse(errors.stdout).T001 as { details: string }[]).map((e) => e.details), ["API Error: 529 Overloaded"]);
});
