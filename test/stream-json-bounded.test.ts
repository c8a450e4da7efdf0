/**
 * The `claude -p` and `gemini -p` stream-json readers read a file in bounded memory (three
 * readings, a small file's parsed lines kept between them): they must give exactly the events
 * the reader that held a file whole gave, in the same order. Each file here is ingested three
 * ways (that whole reader, OBS_STREAM_JSON_READER=whole; the bounded one reading the file again,
 * OBS_STREAM_JSON_KEEP_CHARS=0; the bounded one as it runs by default) and every row of every
 * table, sequence numbers included, compared.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { claudeStreamFile, geminiRun, geminiStreamFile } from "../bench/stream-json.js";
import { claudeStreamJson } from "../src/ingest/adapters/claude-stream-json.js";
import { geminiStreamJson } from "../src/ingest/adapters/gemini-stream-json.js";
import type { Adapter, AdapterInput, InputLine, J } from "../src/ingest/adapters/types.js";
import { isReadError, readFailure } from "../src/ingest/ingest.js";
import { PRICES } from "../src/pricing.js";
import { all, BIN, cli, everyRow, ROOT, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

const sha256 = (text: string) => crypto.createHash("sha256").update(text).digest("hex");
const SHARED = path.join(ROOT, "..", "shared", "fixtures");
const FIX = fs.existsSync(SHARED) ? SHARED : path.join(ROOT, "test", "fixtures");

async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const WAYS: Record<string, Record<string, string>> = {
  whole: { OBS_STREAM_JSON_READER: "whole" },
  reread: { OBS_STREAM_JSON_KEEP_CHARS: "0" },
  default: {},
};

/** Every row of the database each way of reading `file` makes (`format` forced when given). */
async function rowsEachWay(file: string, format?: string, ways = Object.keys(WAYS)): Promise<Record<string, Record<string, string[]>>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const way of ways) {
    const env = WAYS[way]!;
    const db = tmpDb();
    // Bad lines are passed over (--skip-invalid), the same by each reader.
    const r = await withEnv(env, () => cli(["ingest", file, "--db", db, "--skip-invalid", ...(format ? ["--format", format] : [])]));
    assert.ok(r.code === 0 || r.code === 1, `${way}: ${r.stderr}`);
    out[way] = everyRow(db);
  }
  return out;
}

function assertSame(name: string, rows: Record<string, Record<string, string[]>>, expectRows = true, base = "whole"): void {
  const whole = rows[base]!;
  if (expectRows) assert.ok((whole.tool_uses?.length ?? 0) + (whole.transcript_entries?.length ?? 0) > 0, `${name}: the whole reader made rows (a comparison of nothing proves nothing)`);
  for (const way of ["reread", "default"].filter((w) => w !== base)) {
    const got = rows[way]!;
    assert.deepEqual(Object.keys(got), Object.keys(whole), `${name}: ${way}: the same tables`);
    for (const t of Object.keys(whole)) {
      assert.equal(got[t]!.length, whole[t]!.length, `${name}: ${way}: ${t} has as many rows`);
      for (let k = 0; k < whole[t]!.length; k++) assert.equal(got[t]![k], whole[t]![k], `${name}: ${way}: ${t} row ${k + 1}`);
    }
  }
}

function jsonlBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".jsonl")).map((f) => path.join(dir, f)).sort();
}

test("every claude -p stream-json fixture: the bounded reader's rows are the whole reader's, row by row", async () => {
  const files = jsonlBelow(path.join(FIX, "claude-stream-json"));
  assert.equal(files.length, 4);
  for (const file of files) assertSame(path.basename(file), await rowsEachWay(file));
});

test("the gemini-cli fixtures hold no stream-json file; the hand-built runs read the same both ways", async () => {
  // Gemini CLI's fixtures are its session recordings (another format): read as they are, none
  // is detected as stream-json. No real gemini -p stream-json file is public: the runs are
  // written after gemini-cli's JsonStreamEvent types.
  for (const file of jsonlBelow(path.join(FIX, "gemini-cli"))) {
    const db = tmpDb();
    const r = await cli(["ingest", file, "--db", db, "--json"]);
    assert.ok(!/gemini-stream-json/.test(JSON.stringify(all(db, `SELECT format FROM ingest_log`))), `${file}: ${r.stdout}`);
  }
  const dir = tmpDir();
  const runs = [0, 1, 2, 3, 4].map(geminiRun).join("");
  const cases: Record<string, string> = {
    "five runs (one cut short, one failed)": runs,
    "one run without its result": geminiRun(2),
    // The lines' state is made in the first reading once the init line is read, the lines before held; after more lines than are held, in a reading of its own.
    "init after many lines": [...Array.from({ length: 40 }, (_, k) => geminiRun(k + 1)), geminiRun(0)].join(""),
    "only a prompt": JSON.stringify({ type: "message", timestamp: "2026-04-02T09:00:00.000Z", role: "user", content: "hello" }) + "\n",
    // Lines out of time order, lines without a time, chunks across a step back, a bad line.
    "out of order": [
      { type: "message", role: "user", content: "no time yet" },
      { type: "init", timestamp: "2026-04-02T09:00:05.000Z", session_id: "gs-ooo", model: "gemini-2.5-pro" },
      { type: "message", timestamp: "2026-04-02T09:00:09.000Z", role: "user", content: "first" },
      { type: "message", timestamp: "2026-04-02T09:00:10.000Z", role: "assistant", content: "a", delta: true },
      { type: "message", timestamp: "2026-04-02T09:00:03.000Z", role: "assistant", content: "b", delta: true },
      { type: "tool_use", timestamp: "2026-04-02T09:00:04.000Z", tool_name: "glob", tool_id: "g1", parameters: {} },
      { type: "message", role: "user", content: "second, no time" },
      "{not json",
      { type: "tool_result", timestamp: "2026-04-02T09:00:02.000Z", tool_id: "g1", status: "success", output: { files: [] } },
      { type: "result", timestamp: "2026-04-02T09:00:08.000Z", status: "success", stats: { models: { "gemini-2.5-pro": { input_tokens: 10, output_tokens: 2, total_tokens: 12 } } } },
      { type: "message", timestamp: "2026-04-02T09:00:01.000Z", role: "user", content: "third" },
      { type: "message", timestamp: "2026-04-02T09:00:11.000Z", role: "assistant", content: "whole" },
    ].map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n",
  };
  for (const [name, text] of Object.entries(cases)) {
    const file = path.join(dir, `${name.replace(/\W+/g, "-")}.jsonl`);
    fs.writeFileSync(file, text);
    assertSame(name, await rowsEachWay(file, "gemini-stream-json"), name !== "only a prompt");
  }
});

test("hand-built claude -p streams (no timestamps, several results, times out of order) read the same both ways", async () => {
  const dir = tmpDir();
  const sys = (extra: J = {}) => ({ type: "system", subtype: "init", session_id: "s-1", model: "claude-sonnet-4-5", cwd: "/w/app", uuid: "i-1", ...extra });
  const asst = (id: string, text: string, extra: J = {}, usage: J = { input_tokens: 10, output_tokens: 5 }) => ({ type: "assistant", session_id: "s-1", uuid: `a-${id}-${text.length}`, message: { id, model: "claude-sonnet-4-5", content: [{ type: "text", text }], usage }, ...extra });
  const tool = (id: string, call: string, extra: J = {}) => ({ type: "assistant", session_id: "s-1", uuid: `t-${call}`, message: { id, model: "claude-sonnet-4-5", content: [{ type: "tool_use", id: call, name: call.startsWith("task") ? "Task" : "Bash", input: { command: "ls", description: "look" } }], usage: { input_tokens: 10, output_tokens: 7 } }, ...extra });
  const res = (call: string, extra: J = {}) => ({ type: "user", session_id: "s-1", uuid: `r-${call}`, message: { content: [{ type: "tool_result", tool_use_id: call, content: "ok" }] }, ...extra });
  const result = (extra: J = {}) => ({ type: "result", subtype: "success", session_id: "s-1", uuid: `res-${JSON.stringify(extra).length}`, duration_ms: 4000, total_cost_usd: 0.5, result: "done", modelUsage: { "claude-sonnet-4-5": { inputTokens: 100, outputTokens: 50, costUSD: 0.5 } }, ...extra });
  const cases: Record<string, J[]> = {
    "no timestamp, two runs": [sys(), asst("m1", "hi"), tool("m1", "call-1"), res("call-1"), asst("m2", "done"), result(), { type: "user", session_id: "s-1", uuid: "p-2", message: { content: "again" } }, asst("m3", "ok"), result({ is_error: true, subtype: "error_max_turns", uuid: "res-2" })],
    "no result": [sys(), { type: "user", session_id: "s-1", uuid: "p-1", message: { content: "go" } }, asst("m1", "hi"), tool("m1", "task-1"), asst("s1", "sub", { parent_tool_use_id: "task-1" }), res("task-1")],
    "times out of order": [
      sys({ timestamp: "2026-07-01T10:00:05.000Z" }), asst("m1", "hi", { timestamp: "2026-07-01T10:00:09.000Z" }), tool("m1", "call-1"), res("call-1", { timestamp: "2026-07-01T10:00:01.000Z" }),
      tool("m2", "task-2", { timestamp: "2026-07-01T10:00:07.000Z" }), { type: "system", subtype: "task_started", session_id: "s-1", tool_use_id: "task-2", task_id: "agent-x", subagent_type: "Explore" },
      asst("s2", "sub work", { parent_tool_use_id: "task-2", timestamp: "2026-07-01T10:00:03.000Z" }), res("task-2", { timestamp: "2026-07-01T10:00:12.000Z" }),
      asst("m1", "hi again", { timestamp: "2026-07-01T10:00:02.000Z" }, { input_tokens: 12, output_tokens: 9 }), { type: "system", subtype: "compact_boundary", session_id: "s-1", uuid: "cb" },
      result({ timestamp: "2026-07-01T10:00:06.000Z", permission_denials: [{ tool_use_id: "call-9", tool_name: "Write" }] }),
    ],
    // The state of the lines is made in the first reading once a session id, the init line and a
    // time are all read (the lines before held until then), else in a reading of its own: the
    // init line after more lines than are held, then a few lines before it.
    "init late": [
      ...Array.from({ length: 300 }, (_, k) => asst(`m${k % 7}`, `early ${k}`, { timestamp: `2026-07-01T10:${String(10 + (k % 40)).padStart(2, "0")}:00.000Z` })),
      sys({ model: "claude-opus-4-1", uuid: "i-late" }), asst("m-after", "after init", {}, { input_tokens: 3, output_tokens: 2 }), result({ timestamp: "2026-07-01T10:30:00.000Z" }),
    ],
    "init third": [
      { type: "system", subtype: "hook_started", session_id: "s-1", uuid: "h-1" }, asst("m0", "no init yet", { timestamp: "2026-07-01T10:00:09.000Z" }, { input_tokens: 4, output_tokens: 1 }),
      { type: "assistant", session_id: "s-1", uuid: "nm", message: { id: "m-nomodel", content: [{ type: "text", text: "no model named" }], usage: { input_tokens: 2, output_tokens: 2 } } },
      sys({ model: "claude-opus-4-1", uuid: "i-3", timestamp: "2026-07-01T10:00:01.000Z" }), tool("m1", "call-1"), res("call-1"), result({ timestamp: "2026-07-01T10:00:20.000Z" }),
    ],
  };
  for (const [name, lines] of Object.entries(cases)) {
    const file = writeJsonl(path.join(dir, `${name.replace(/\W+/g, "-")}.jsonl`), lines);
    assertSame(name, await rowsEachWay(file, "claude-stream-json"));
  }
});

test("large generated streams (the fixtures repeated, ids their own) go through the re-reading path and make the same rows", async () => {
  const dir = tmpDir();
  // Over the 8M characters kept parsed: read three times from the file, as a big one is.
  for (const [name, file] of [
    ["claude", claudeStreamFile(path.join(FIX, "claude-stream-json"), path.join(dir, "claude", "big.jsonl"), 9e6).file],
    ["gemini", geminiStreamFile(path.join(dir, "gemini", "big.jsonl"), 9e6).file],
  ] as const) {
    const rows: Record<string, Record<string, string[]>> = {};
    for (const way of ["whole", "default"]) {
      const db = tmpDb();
      const r = await withEnv(WAYS[way]!, () => cli(["ingest", file, "--db", db]));
      assert.equal(r.code, 0, r.stderr);
      rows[way] = everyRow(db);
    }
    rows.reread = rows.default!;
    assert.ok(rows.whole!.llm_calls!.length > 1000, `${name}: ${rows.whole!.llm_calls!.length} model calls`);
    assertSame(name, rows);
  }
});

/** An input whose later readings are not its first: a file rewritten while it was read. */
function changingInput(file: string, first: string[], later: string[]): AdapterInput {
  let reads = 0;
  const asLines = (ls: string[]): InputLine[] => ls.map((text, i) => ({ text, n: i + 1 }));
  return { path: file, lines: () => asLines(reads++ === 0 ? first : later), bytes: () => Buffer.from(first.join("\n")) };
}

function readAll(adapter: Adapter, input: AdapterInput): J[] {
  const out: J[] = [];
  const r = adapter.read(input, { prices: PRICES, memo: (_k, make) => make() });
  for (let x = r.next(); !x.done; x = r.next()) out.push(x.value);
  return out;
}

test("a stream that changes between its readings fails as a read error naming the file and the lines", async () => {
  const gem = geminiRun(0).trimEnd().split("\n");
  const cla = fs.readFileSync(path.join(FIX, "claude-stream-json", "on-keyday-agent-harness", "claude-stream-json.jsonl"), "utf8").trimEnd().split("\n");
  await withEnv(WAYS.reread!, async () => {
    for (const [adapter, lines] of [[geminiStreamJson, gem], [claudeStreamJson, cla]] as const) {
      const file = path.join(tmpDir(), "run.jsonl");
      assert.ok(readAll(adapter, changingInput(file, lines, lines)).length > 5, "unchanged, it reads");
      const edited = lines.map((l, k) => (k === 3 ? l.replace(/"type":"(\w+)"/, '"type":"$1" ') : l));
      for (const later of [edited, lines.slice(0, -1), [...lines, lines[0]!]]) {
        assert.throws(() => readAll(adapter, changingInput(file, lines, later)), (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, "ECHANGED");
          assert.ok(isReadError(e));
          assert.equal(e.path, file);
          assert.match(e.message, /^it changed while obs read it: lines? 1( to \d+)? (is|are) not what (it was|they were); ingest it again$/);
          assert.match(readFailure(e, false), /changed while obs read it.*ingest it again/);
          return true;
        });
      }
    }
  });

  // In a real process, the file rewritten (one character) after its first reading: that source
  // alone fails, named with what to do; the other is written.
  const dir = tmpDir();
  const big = path.join(dir, "a-changing.jsonl");
  // Over the 64 KiB obs reads of a file's start to tell its format: its first reading through is the reader's.
  fs.writeFileSync(big, Array.from({ length: 60 }, (_, k) => geminiRun(k)).join(""));
  assert.ok(fs.statSync(big).size > 64 * 1024);
  const other = path.join(dir, "b-steady.jsonl");
  fs.writeFileSync(other, geminiRun(0).replace('"session_id":"gs-big"', '"session_id":"gs-other"'));
  const hook = path.join(dir, "rewrite.mjs");
  // Once the file has been read through (exactly its size: the first reading of its lines), a letter of it is changed in place.
  fs.writeFileSync(hook, `
import fs from "node:fs";
const target = ${JSON.stringify(big)};
const size = fs.statSync(target).size;
const fds = new Map();
let done = false;
const open = fs.openSync, read = fs.readSync, close = fs.closeSync;
fs.openSync = (p, ...rest) => { const fd = open(p, ...rest); if (String(p) === target) fds.set(fd, 0); return fd; };
fs.readSync = (fd, ...rest) => { const n = read(fd, ...rest); if (fds.has(fd)) fds.set(fd, fds.get(fd) + n); return n; };
fs.closeSync = (fd) => {
  const got = fds.get(fd); fds.delete(fd); close(fd);
  if (!done && got === size) {
    done = true;
    const text = fs.readFileSync(target, "utf8");
    fs.writeFileSync(target, text.replace("Let me ", "LET ME "));
  }
};
`);
  const db = tmpDb();
  const r = spawnSync(process.execPath, ["--import", hook, BIN, "ingest", big, other, "--db", db, "--json"], { encoding: "utf8", env: { ...process.env, OBS_STREAM_JSON_KEEP_CHARS: "0" } });
  assert.ok(fs.readFileSync(big, "utf8").includes("LET ME "), "the file was rewritten while read");
  assert.equal(r.status, 2, r.stderr);
  const out = JSON.parse(r.stdout) as { failed_sources: string[]; sources_detail: { source: string; reason?: string; written: boolean }[] };
  assert.deepEqual(out.failed_sources, [big]);
  const failed = out.sources_detail.find((x) => x.source === big)!;
  assert.match(failed.reason ?? "", /changed while obs read it: lines 1 to \d+ are not what they were; ingest it again/);
  assert.equal(out.sources_detail.find((x) => x.source === other)?.written, true);
  assert.deepEqual(all(db, `SELECT id FROM task_list_execution_runs`).map((x) => x.id), ["gs-other"]);
  assert.match(r.stderr, new RegExp(`${path.basename(big)}.*changed while obs read it`));
});

test("a line nested 10,000 deep names its run; lone surrogates become U+FFFD; a run with no result stays running", async () => {
  const dir = tmpDir();
  const deep = `${"[".repeat(10_000)}"deep"${"]".repeat(10_000)}`;
  // The deep value sits where the readers do not look (but hash the line, the first, to name the run).
  const claude = [
    `{"type":"system","subtype":"init","session_id":"s-deep","model":"claude-sonnet-4-5","extra":${deep}}`,
    `{"type":"assistant","session_id":"s-deep","uuid":"a-1","message":{"id":"m1","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"c1","name":"Bash","input":{"command":"deep"}},{"type":"text","text":"half \\ud83d of a pair, and \\udc00 alone"}],"usage":{"input_tokens":3,"output_tokens":1}}}`,
    `{"type":"user","session_id":"s-deep","uuid":"u-1","message":{"content":[{"type":"tool_result","tool_use_id":"c1","content":"out \\udfff put"}]}}`,
  ];
  const gemini = [
    `{"type":"message","timestamp":"2026-04-02T09:00:00.000Z","role":"user","content":"lone \\ud800 here","extra":${deep}}`,
    `{"type":"tool_use","timestamp":"2026-04-02T09:00:02.000Z","tool_name":"glob","tool_id":"g1","parameters":{"pattern":"*"}}`,
    `{"type":"message","timestamp":"2026-04-02T09:00:03.000Z","role":"assistant","content":"a \\udbff","delta":true}`,
    `{"type":"message","timestamp":"2026-04-02T09:00:03.000Z","role":"assistant","content":"\\udc00 b","delta":true}`,
  ];
  for (const [format, lines] of [["claude-stream-json", claude], ["gemini-stream-json", gemini]] as const) {
    const file = writeJsonl(path.join(dir, `${format}.jsonl`), lines);
    // The whole reader could not name a run by a line this deep (JSON.stringify's recursion ran
    // out: an internal error); the bounded one hashes the same text without recursion.
    const rows = await rowsEachWay(file, format, ["reread", "default"]);
    assertSame(format, rows, true, "reread");
    const db = tmpDb();
    await withEnv(WAYS.reread!, () => cli(["ingest", file, "--db", db, "--format", format]));
    const texts = all(db, `SELECT summary FROM transcript_entries ORDER BY sequence`).map((x) => String(x.summary));
    const outs = all(db, `SELECT output, input FROM tool_uses`).map((x) => `${String(x.output ?? "")} ${String(x.input ?? "")}`);
    const all_ = [...texts, ...outs].join("\n");
    assert.ok(!/[\uD800-\uDFFF]/.test(all_.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, "")), "no lone surrogate written");
    assert.ok(all_.includes("\uFFFD"), `lone surrogates became U+FFFD: ${all_.slice(0, 200)}`);
    if (format === "gemini-stream-json") {
      assert.deepEqual(texts.filter((t) => t.startsWith("a ")), ["a \uFFFD\uFFFD b"], "two halves in two chunks are two U+FFFD");
      // No result: the run stays running, its turn too, and no model call.
      // No init: the run is named by its first line's hash (deep as it is).
      assert.deepEqual(all(db, `SELECT id, status FROM task_list_execution_runs`).map((x) => ({ ...x })), [{ id: `gemini-${sha256(gemini[0]!.replace("\\ud800", "\uFFFD")).slice(0, 16)}`, status: "started" }]);
      assert.equal(all(db, `SELECT id FROM llm_calls`).length, 0);
    } else {
      assert.equal(all(db, `SELECT id FROM tasks WHERE id LIKE ?`, "s-deep/run-%").length, 1, "one run, named by the init line's hash");
    }
  }
});
