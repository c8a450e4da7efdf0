/**
 * The Codex reader reads a big rollout in bounded memory (the lines that say what the file is,
 * then a few facts per line and per call, then each line's events in time order as it comes)
 * instead of holding it whole; a small one is read once, whole. What the streaming reading
 * writes is what the whole-file reading writes: the same rows, every column of every table,
 * sequence numbers included. OBS_CODEX_KEEP_CHARS sets how big a rollout is read whole (0: every
 * rollout is streamed; a huge number: every one is read whole), so both readings run on the same
 * files. The digests below were taken from the whole-file reader's database of the same files
 * before the streaming reader was written; OBS_PRINT_DIGESTS=1 prints the current ones. One change
 * of what obs writes was meant since: the search index holds CJK text with U+200B between its
 * characters (13 of the fixtures' documents; without the separators search_fts's digest is the
 * whole-file reader's, 607746521a451c19).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { isUtf8 } from "node:buffer";
import fs from "node:fs";
import path from "node:path";
import { codexRollout } from "../bench/codex-rollout.js";
import { codex } from "../src/ingest/adapters/codex.js";
import type { AdapterInput, InputLine, J } from "../src/ingest/adapters/types.js";
import { PRICES } from "../src/pricing.js";
import { all, cli, everyRow, one, ROOT, spawnCli, tmpDir } from "./helpers.js";

const FIX = path.join(ROOT, "test", "fixtures", "codex");
const FILES = fs.readdirSync(FIX, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".jsonl")).sort();
const STREAMED = { OBS_CODEX_KEEP_CHARS: "0" };
const WHOLE = { OBS_CODEX_KEEP_CHARS: String(2 ** 40) };

/** Every row of every table of a database of `source` ingested by a process of its own with `env`. */
function ingested(source: string, env: NodeJS.ProcessEnv, replace: [string, string] = [ROOT, "<root>"]): Record<string, string[]> {
  const db = path.join(tmpDir(), "obs.db");
  const r = spawnCli(["ingest", source, "--db", db], { env });
  assert.equal(r.code, 0, r.stderr);
  return everyRow(db, { replace: [replace] });
}

function digests(rows: Record<string, string[]>, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [t, r] of Object.entries(rows)) if (r.length && !skip.includes(t)) out[t] = `${r.length} ${crypto.createHash("sha256").update(r.join("\n")).digest("hex").slice(0, 16)}`;
  return out;
}

/** The whole-file reader's rows of the four fixtures, ingested together, before the streaming reader. */
const FIXTURES_BEFORE: Record<string, string> = {
  agent_heartbeats: "8 aa13c45adf2c5487", // since taken: an agent's end is a named heartbeat (its id, not its rows, changed)
  build_agent_instances: "4 fb247e8e67c49e71",
  ingest_log: "4 2334b4f2c6654c0c",
  llm_calls: "88 9971dc082194b8be",
  search_fts: "206 7533ebec6cc7ed9a",
  task_list_execution_runs: "4 2857809cf1a14841",
  tasks: "7 a1181b9485d951fe",
  tool_uses: "164 6344ec781fd7670b",
  transcript_entries: "197 9c67cd16d710829e",
};

/** The same, of the generated 9 MB rollout (7 copies of the fixtures; its folder written <dir>). */
const BIG_BEFORE: Record<string, string> = {
  agent_heartbeats: "1 947aa971cf3062ae",
  build_agent_instances: "1 e229729c76e980e7",
  ingest_log: "1 a1bae05a00352075",
  llm_calls: "616 c23acefa4cdad19c",
  search_fts: "1442 05b3d27ae8028e73",
  task_list_execution_runs: "1 a92ae994b16a554f",
  tasks: "49 d1622f4c4d978531",
  tool_uses: "1148 54a73276f461bba9",
  transcript_entries: "1379 471003e603847f6b",
};

test("every Codex fixture, streamed, gives the rows of the whole-file reading, every column and sequence number", () => {
  assert.equal(FILES.length, 4);
  for (const f of FILES) {
    const whole = ingested(path.join(FIX, f), WHOLE);
    const streamed = ingested(path.join(FIX, f), STREAMED);
    assert.ok(whole.tool_uses!.length >= 3 && whole.transcript_entries!.length >= 3, f);
    for (const t of Object.keys(whole)) assert.deepEqual(streamed[t], whole[t], `${f}: table ${t}`);
    assert.deepEqual(Object.keys(streamed), Object.keys(whole));
  }
  const together = ingested(FIX, STREAMED);
  if (process.env.OBS_PRINT_DIGESTS) console.log(JSON.stringify(digests(together), null, 2));
  assert.deepEqual(digests(together), FIXTURES_BEFORE);
  assert.deepEqual(digests(ingested(FIX, WHOLE)), FIXTURES_BEFORE);
});

test("a 9 MB rollout (over what is read whole) is streamed by default and gives the whole-file reading's rows", () => {
  const big = codexRollout(FIX, tmpDir(), 9e6);
  assert.ok(fs.readFileSync(big.file, "utf8").length > 8 * 1024 * 1024, "over the characters a rollout is kept for");
  const dir: [string, string] = [path.dirname(big.file), "<dir>"];
  const streamed = ingested(big.file, {}, dir);
  const whole = ingested(big.file, WHOLE, dir);
  for (const t of Object.keys(whole)) assert.deepEqual(streamed[t], whole[t], `table ${t}`);
  if (process.env.OBS_PRINT_DIGESTS) console.log(JSON.stringify(digests(streamed), null, 2));
  assert.deepEqual(digests(streamed), BIG_BEFORE);
  // Each copy's calls and failures, as in the fixtures (164 calls, 9 failed), seven times over.
  assert.equal(streamed.tool_uses!.length, 7 * 164);
});

/** A subagent's rollout after formats.test.ts's: its own meta, a copy of its parent's history, its own turn. */
function subagentLines(parent: string[], childId: string, parentId: string, at: string): string[] {
  const meta = JSON.parse(parent[0]!) as { payload: J };
  const t0 = Date.parse(at);
  const line = (ms: number, type: string, payload: object) => JSON.stringify({ timestamp: new Date(ms).toISOString(), type, payload });
  const out = [line(t0, "session_meta", { id: childId, timestamp: at, cwd: meta.payload.cwd, source: { subagent: { thread_spawn: { parent_thread_id: parentId, depth: 1, agent_nickname: "Euclid", agent_role: "explorer" } } } })];
  for (const raw of parent) {
    const o = JSON.parse(raw) as { type: string; payload: J };
    if (o.type === "session_meta" || o.type === "event_msg" || o.type === "turn_context" || (o.type === "response_item" && o.payload.type === "message" && o.payload.role !== "assistant")) out.push(JSON.stringify({ ...o, timestamp: new Date(t0).toISOString() }));
  }
  const turn = "019b7fa0-0000-7000-8000-000000000001";
  out.push(
    line(t0 + 5, "event_msg", { type: "task_started", turn_id: turn, started_at: Math.floor(t0 / 1000) + 1 }),
    line(t0 + 6, "turn_context", { turn_id: turn, model: "gpt-5.1-codex-mini" }),
    line(t0 + 7, "event_msg", { type: "user_message", message: "List the TODOs under src/" }),
    line(t0 + 900, "response_item", { type: "function_call", name: "exec_command", arguments: JSON.stringify({ cmd: "rg TODO src" }), call_id: "call_sub1" }),
    line(t0 + 950, "event_msg", { type: "token_count", info: { total_token_usage: { input_tokens: 30000, cached_input_tokens: 15000, output_tokens: 400, reasoning_output_tokens: 128, total_tokens: 30400 } } }),
    line(t0 + 1200, "response_item", { type: "function_call_output", call_id: "call_sub1", output: "Process exited with code 1\nOutput:\n" }),
    line(t0 + 2001, "event_msg", { type: "task_complete", turn_id: turn }),
  );
  return out;
}

test("a subagent's rollout, streamed: its copy of the parent's history counted once, as the whole-file reading counts it", () => {
  const parentFile = path.join(FIX, "codemie-ai-codemie-code", "rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl");
  const childId = "019b7f9f-1111-7000-8000-00000000c41d";
  const file = path.join(tmpDir(), `rollout-2026-01-02T18-40-10-${childId}.jsonl`);
  fs.writeFileSync(file, subagentLines(fs.readFileSync(parentFile, "utf8").trimEnd().split("\n"), childId, "019b7f94-51b4-7593-922e-ba12b5b73b52", "2026-01-02T16:40:10.000Z").join("\n") + "\n");
  const whole = ingested(file, WHOLE);
  const streamed = ingested(file, STREAMED);
  for (const t of Object.keys(whole)) assert.deepEqual(streamed[t], whole[t], `table ${t}`);
  // Its own call and its own model call only: the copy's last total (22,774) is the baseline, 30,400 − 22,774 = 7,626 more.
  assert.equal(whole.tool_uses!.length, 1);
  assert.equal(whole.llm_calls!.length, 1);
  assert.match(whole.llm_calls![0]!, /"id":"019b7f9f-1111-7000-8000-00000000c41d\/usage@30400"/);
});

test("a line nested 10,000 deep and lone surrogate escapes (in text, an output, a call's arguments): read in every reading, each lone half stored as U+FFFD", () => {
  const src = fs.readFileSync(path.join(FIX, "codemie-ai-codemie-code", "rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl"), "utf8").trimEnd().split("\n");
  const deep = "[".repeat(10_000) + '"\\ud800 deep down"' + "]".repeat(10_000);
  const extra = [
    `{"timestamp":"2026-01-02T16:40:00.000Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"half a pair: \\ud83d, and its other half alone: \\ude00."}],"nested":${deep}}}`,
    `{"timestamp":"2026-01-02T16:40:01.000Z","type":"response_item","payload":{"type":"function_call","name":"exec_command","arguments":"{\\"cmd\\":\\"cat a\\\\ud800.txt\\"}","call_id":"call_lone"}}`,
    `{"timestamp":"2026-01-02T16:40:02.000Z","type":"response_item","payload":{"type":"function_call_output","call_id":"call_lone","output":"Process exited with code 0\\nOutput:\\nbad \\udbff byte"}}`,
    // An output that is JSON inside the JSON string: an envelope with an exit code.
    `{"timestamp":"2026-01-02T16:40:03.000Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{}","call_id":"call_env"}}`,
    `{"timestamp":"2026-01-02T16:40:04.000Z","type":"response_item","payload":{"type":"function_call_output","call_id":"call_env","output":"{\\"output\\":\\"env \\\\udbff out\\",\\"metadata\\":{\\"exit_code\\":0}}"}}`,
  ];
  const file = path.join(tmpDir(), "rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl");
  fs.writeFileSync(file, [...src, ...extra].join("\n") + "\n");
  const whole = ingested(file, WHOLE);
  const streamed = ingested(file, STREAMED);
  for (const t of Object.keys(whole)) assert.deepEqual(streamed[t], whole[t], `table ${t}`);
  const db = path.join(tmpDir(), "obs.db");
  assert.equal(spawnCli(["ingest", file, "--db", db], { env: STREAMED }).code, 0);
  // The bytes stored: UTF-8, each lone half of a pair the three bytes of U+FFFD.
  const bytes = (sql: string) => Buffer.from(String(one(db, sql)?.h), "hex");
  const summary = bytes(`SELECT hex(summary) AS h FROM transcript_entries WHERE category = 'assistant' AND timestamp = '2026-01-02T16:40:00.000Z'`);
  assert.ok(isUtf8(summary));
  assert.equal(summary.toString("utf8"), "half a pair: \uFFFD, and its other half alone: \uFFFD.");
  const output = bytes(`SELECT hex(output) AS h FROM tool_uses WHERE id = 'call_lone'`);
  assert.ok(isUtf8(output));
  assert.equal(JSON.parse(output.toString("utf8")), "Process exited with code 0\nOutput:\nbad \uFFFD byte");
  // Its arguments are JSON inside a JSON string: a lone half escaped there is U+FFFD too, not an escape kept.
  const input = bytes(`SELECT hex(input) AS h FROM tool_uses WHERE id = 'call_lone'`);
  assert.ok(isUtf8(input));
  assert.doesNotMatch(input.toString("utf8"), /\\ud800/i);
  assert.equal((JSON.parse(input.toString("utf8")) as { cmd: string }).cmd, "cat a\uFFFD.txt");
  const envOut = bytes(`SELECT hex(output) AS h FROM tool_uses WHERE id = 'call_env'`);
  assert.ok(isUtf8(envOut));
  assert.equal(JSON.parse(envOut.toString("utf8")), "env \uFFFD out");
  // The line nested 10,000 deep is a line like any other: read, not a bad line.
  assert.equal(all(db, `SELECT rejected_lines, lines FROM ingest_log`).map((r) => `${r.rejected_lines} ${r.lines}`).join(), `0 ${src.length + extra.length}`);
});

/** An input whose readings differ from its first: a file rewritten while it was read. */
function changingInput(file: string, readings: string[][]): AdapterInput {
  let reads = 0;
  const asLines = (ls: string[]): InputLine[] => ls.map((text, i) => ({ text, n: i + 1 }));
  return {
    path: file,
    lines: () => asLines(readings[Math.min(reads++, readings.length - 1)]!),
    bytes: () => Buffer.from(readings[0]!.join("\n")),
  };
}

function readAll(input: AdapterInput): J[] {
  const events: J[] = [];
  const r = codex.read(input, { prices: PRICES, memo: (_k, make) => make() });
  for (let x = r.next(); !x.done; x = r.next()) events.push(x.value);
  return events;
}

test("a big rollout that changes between its readings fails as a read error naming the line", () => {
  const src = fs.readFileSync(path.join(FIX, "codemie-ai-codemie-code", "rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl"), "utf8").trimEnd().split("\n");
  const pad = JSON.stringify({ timestamp: "2026-05-11T09:00:00.000Z", type: "event_msg", payload: { type: "agent_reasoning", text: "x".repeat(8_500_000) } });
  const first = [...src, pad];
  const file = path.join(tmpDir(), "rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl");
  const same = readAll(changingInput(file, [first]));
  assert.equal(same.filter((e) => e.kind === "tool:start").length, 105);
  const edit = (k: number, f: (l: string) => string) => first.map((l, i) => (i === k - 1 ? f(l) : l));
  const cases: [string, string[][], number][] = [
    ["a line's text longer in the last reading", [first, first, edit(40, (l) => l.replace('"timestamp":"', '"timestamp": "'))], 40],
    ["a line removed in the last reading", [first, first, first.filter((_, i) => i !== 99)], 100],
    ["a line put in before line 10 in the last reading", [first, first, [...first.slice(0, 9), "{}", ...first.slice(9)]], 10],
    ["the same length, another line's events (a prompt that is no prompt)", [first, first, edit(7, (l) => l.replace('"type":"user_message"', '"type":"user_messagE"'))], 7],
    ["a user message turned into another kind between the first two readings", [first, edit(7, (l) => l.replace('"user_message"', '"user_massage"')), first], 7],
    ["the file cut short in the last reading", [first, first, first.slice(0, 200)], 201],
  ];
  for (const [what, readings, n] of cases) {
    assert.throws(() => readAll(changingInput(file, readings)), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "ECHANGED", what);
      assert.equal(e.message, `it changed while obs read it: line ${n} is not what it was; ingest it again`, what);
      return true;
    }, what);
  }
});

test("a rollout that changes while obs reads it fails alone, with what to do; the other files are written", async () => {
  const dir = tmpDir();
  const big = codexRollout(FIX, path.join(dir, "gen"), 9e6).file;
  const sessions = path.join(dir, "sessions");
  fs.mkdirSync(sessions);
  const file = path.join(sessions, path.basename(big));
  fs.copyFileSync(big, file);
  const other = path.join(FIX, "codemie-ai-codemie-code", "rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl");
  fs.copyFileSync(other, path.join(sessions, path.basename(other)));
  // The file is rewritten (one line's text made longer) when it is opened for its last reading.
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n");
  const at = lines.findIndex((l, i) => i > 2000 && l.includes('"type":"function_call_output"'));
  const opens: number[] = [];
  const open = fs.openSync;
  let count = 0;
  const patched = ((p: fs.PathLike, ...rest: unknown[]) => {
    if (String(p) === file) {
      opens.push(++count);
      if (count === 5) fs.writeFileSync(file, lines.map((l, i) => (i === at ? l.replace('"output":"', '"output":"(rewritten) ') : l)).join("\n"));
    }
    return (open as (...a: unknown[]) => number)(p, ...rest);
  }) as typeof fs.openSync;
  fs.openSync = patched;
  let r;
  try {
    r = await cli(["ingest", sessions, "--db", path.join(dir, "obs.db")]);
  } finally {
    fs.openSync = open;
  }
  // Its head, its size, its three readings (the last finds the change).
  assert.equal(count, 5, `opened ${opens.length} times`);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${path.basename(file)}: cannot read it \\(it changed while obs read it: line ${at + 1} is not what it was; ingest it again\\): nothing of it written`));
  const db = path.join(dir, "obs.db");
  assert.deepEqual(all(db, `SELECT DISTINCT execution_id FROM tool_uses`).map((x) => x.execution_id), ["019b7f94-51b4-7593-922e-ba12b5b73b52"]);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM ingest_log`)?.n, 1);
  // Read again once it is still: written whole.
  const again = await cli(["ingest", sessions, "--db", db]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM tool_uses WHERE execution_id = '019e1625-789d-76c0-80ab-3724b5ddb799'`)?.n, 7 * 164);
});
