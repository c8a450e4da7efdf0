/**
 * The Claude Code reader reads a session twice in bounded memory (a few facts per line, then
 * each line's events in time order as it comes) instead of holding it whole. What it writes is
 * what the whole-file reader wrote: the same rows, column for column, sequence numbers
 * included. The digests below were taken from the whole-file reader's database of the same
 * fixtures, before it was replaced; OBS_PRINT_DIGESTS=1 prints the current ones (to update them
 * when a change of what obs writes is meant). One change was meant since: an agent's end is one
 * named heartbeat (its latest), where a subagent echoed in its session and read in its own file
 * had two (44 heartbeats → 42). And another: the search index holds CJK text with U+200B between
 * its characters (two documents here; without those separators the digest is 30cfd53c10b9a2ef,
 * the whole-file reader's).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { claudeCode } from "../src/ingest/adapters/claude-code.js";
import type { AdapterInput, InputLine, J } from "../src/ingest/adapters/types.js";
import { PRICES } from "../src/pricing.js";
import { all, cli, events, everyRow, ingestLines, ROOT, tmpDb, tmpDir } from "./helpers.js";

const FIXTURES = path.join(ROOT, "test", "fixtures", "claude-code");
const SPOTTER = "fa812bfe-b295-4cca-9c2f-fdf01028cb46";
const VIEWER = "5c0375b4-57a5-4f26-b12d-d022ee4e51b7";

/** Each table's row count and a digest of its rows. */
function digests(db: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [t, rows] of Object.entries(everyRow(db, { replace: [[ROOT, "<root>"]] }))) {
    out[t] = `${rows.length} ${crypto.createHash("sha256").update(rows.join("\n")).digest("hex").slice(0, 16)}`;
  }
  return out;
}

const WHOLE_FILE_READER: Record<string, string> = {
  agent_heartbeats: "42 d3a0f2bbc145bf08",
  assertion_chains: "0 e3b0c44298fc1c14",
  assertion_results: "0 e3b0c44298fc1c14",
  build_agent_instances: "20 e788d6d1f8ef0c99",
  concurrent_execution_sessions: "0 e3b0c44298fc1c14",
  events: "0 e3b0c44298fc1c14",
  ingest_log: "13 38d21b5c412c5ab1",
  llm_calls: "463 dd5a472ddd9c9ecd",
  message_bus_log: "0 e3b0c44298fc1c14",
  parallel_execution_waves: "0 e3b0c44298fc1c14",
  search_fts: "883 a61a63eccaadd254",
  search_pending: "0 e3b0c44298fc1c14",
  skill_traces: "0 e3b0c44298fc1c14",
  task_dependencies: "0 e3b0c44298fc1c14",
  task_list_execution_runs: "9 58ecf7f37f6b07b3",
  tasks: "38 3fc7b0bbdf196124",
  tool_uses: "533 d843518abf487929",
  transcript_entries: "840 f3909c46aa22bde2",
  wave_statistics: "0 e3b0c44298fc1c14",
  wave_task_assignments: "0 e3b0c44298fc1c14",
};

test("the fixtures' sessions give the rows the whole-file reader gave, every column and sequence number", async () => {
  const db = tmpDb();
  const r = await cli(["ingest", FIXTURES, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  const got = digests(db);
  if (process.env.OBS_PRINT_DIGESTS) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, WHOLE_FILE_READER);
});

test("sequence numbers follow time: each agent's entries in sequence order are in time order", async () => {
  const db = tmpDb();
  await cli(["ingest", FIXTURES, "--db", db]);
  // Each file is folded in its own time order (a subagent's file after or before its session's).
  const rows = all(db, `SELECT execution_id || ' ' || COALESCE(instance_id, '') AS instance_id, sequence, timestamp FROM transcript_entries ORDER BY 1, sequence`);
  assert.ok(rows.length > 800);
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1]!, rows[i]!];
    if (a.instance_id !== b.instance_id) continue;
    assert.ok(String(a.timestamp) <= String(b.timestamp), `${b.instance_id}: entry ${b.sequence} (${b.timestamp}) after ${a.sequence} (${a.timestamp})`);
  }
});

/** A copy of a session (and its subagents' files) under a project folder of `dir`, each file's lines put in another order. */
function copySession(dir: string, project: string, session: string, reorder: (lines: string[]) => string[]): string {
  const dest = path.join(dir, "proj");
  const files = [path.join(FIXTURES, project, `${session}.jsonl`)];
  const subagents = path.join(FIXTURES, project, session, "subagents");
  if (fs.existsSync(subagents)) files.push(...fs.readdirSync(subagents).map((f) => path.join(subagents, f)));
  for (const f of files) {
    const to = path.join(dest, path.relative(path.join(FIXTURES, project), f));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    const lines = fs.readFileSync(f, "utf8").split("\n").filter((l) => l !== "");
    fs.writeFileSync(to, reorder(lines).join("\n") + "\n");
  }
  return dest;
}

/** The same shuffle every run. */
function shuffled(lines: string[]): string[] {
  let seed = 20260212;
  const a = lines.slice();
  for (let i = a.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

for (const [project, session, what] of [["marot-spotter", SPOTTER, "a 2.x session with its subagents' files"], ["claude-code-viewer", VIEWER, "a 1.x session with sidechains"]] as const) {
  test(`${what}: its lines reversed or shuffled in its files give the rows of the files in order`, async () => {
    const rowsOf = async (reorder: (l: string[]) => string[]) => {
      const dir = tmpDir();
      const db = path.join(dir, "obs.db");
      const r = await cli(["ingest", copySession(dir, project, session, reorder), "--db", db]);
      assert.equal(r.code, 0, r.stderr);
      // ingest_log holds each file's hash; the files differ, what they say does not.
      return everyRow(db, { replace: [[dir, "<dir>"]], skip: ["ingest_log"] });
    };
    const inOrder = await rowsOf((l) => l);
    assert.ok(inOrder.tool_uses!.length > 20 && inOrder.transcript_entries!.length > 5);
    assert.deepEqual(await rowsOf((l) => l.slice().reverse()), inOrder, "reversed");
    assert.deepEqual(await rowsOf(shuffled), inOrder, "shuffled");
  });
}

test("a session on standard input (read twice from memory) gives the rows of the same file", async () => {
  const file = path.join(FIXTURES, "marot-spotter", `${SPOTTER}.jsonl`);
  const fromFile = tmpDb();
  await cli(["ingest", file, "--db", fromFile]);
  const fromStdin = tmpDb();
  const r = await cli(["ingest", "-", "--db", fromStdin, "--format", "claude-code"], { stdin: fs.readFileSync(file, "utf8") });
  assert.equal(r.code, 0, r.stderr);
  const rows = (db: string) => everyRow(db, { skip: ["ingest_log", "task_list_execution_runs"] });
  assert.deepEqual(rows(fromStdin), rows(fromFile));
});

/** An input whose second reading is not its first: a file rewritten while it was read. */
function changingInput(first: string[], second: string[]): AdapterInput {
  let reads = 0;
  const asLines = (ls: string[]): InputLine[] => ls.map((text, i) => ({ text, n: i + 1 }));
  return {
    path: path.join(tmpDir(), "proj", "11111111-2222-3333-4444-555555555555.jsonl"),
    lines: () => asLines(reads++ === 0 ? first : second),
    bytes: () => Buffer.from(first.join("\n")),
  };
}

test("a big file that changes between its two readings fails as a read error naming the line, not with other rows", () => {
  const session = "11111111-2222-3333-4444-555555555555";
  const line = (i: number, text: string) => JSON.stringify({ type: "user", sessionId: session, uuid: `u${i}`, timestamp: `2026-01-01T00:00:0${i}.000Z`, message: { role: "user", content: text } });
  // A session over what is kept parsed between the readings (8M characters) is read twice.
  const big = line(4, "x".repeat(8_500_000));
  const first = [line(1, "one"), line(2, "two"), line(3, "three"), big];
  const read = (input: AdapterInput) => {
    const events: J[] = [];
    const r = claudeCode.read(input, { prices: PRICES, memo: (_k, make) => make() });
    for (let x = r.next(); !x.done; x = r.next()) events.push(x.value);
    return events;
  };
  assert.equal(read(changingInput(first, first)).filter((e) => e.kind === "transcript:entry").length, 4);
  for (const [second, n] of [[[line(1, "one"), line(2, "TWO!"), line(3, "three")], 2], [[line(1, "one"), line(2, "two")], 3], [[line(1, "one"), "", line(2, "two"), line(3, "three")], 2]] as const) {
    assert.throws(() => read(changingInput(first, [...second, big])), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "ECHANGED");
      assert.match(e.message, new RegExp(`changed while obs read it: line ${n} is not what it was; ingest it again`));
      return true;
    });
  }
});

test("tool calls pending when megabytes of outputs are written out early are still written whole", async () => {
  // A session's tool results can carry whole files (each output kept up to 64 KiB): pending
  // calls are written out once they hold a few megabytes, and one still waiting for its end
  // then is completed by it.
  const { ev } = events("big-outputs");
  const big = "x".repeat(100_000);
  const db = tmpDb();
  const lines = [ev("execution:status", { status: "started" }), ev("tool:start", { tool_use_id: "waits", tool: "Bash", input: { command: "sleep 5" } })];
  for (let k = 0; k < 60; k++) {
    lines.push(ev("tool:start", { tool_use_id: `read-${k}`, tool: "Read", input: { file_path: `${k}.log` } }));
    lines.push(ev("tool:end", { tool_use_id: `read-${k}`, output: big, is_error: k === 59, ...(k === 59 ? { error_message: "too big" } : {}) }));
  }
  lines.push(ev("tool:start", { tool_use_id: "after", tool: "Grep", input: { pattern: "y" } }));
  lines.push(ev("tool:end", { tool_use_id: "waits", output: "slept", is_error: false }));
  lines.push(ev("tool:end", { tool_use_id: "after", output: "", is_error: false }));
  await ingestLines(db, lines);
  const rows = all(db, `SELECT id, tool, input, result_status, is_error, error_message, length(output) AS output, start_time, end_time, duration_ms FROM tool_uses ORDER BY start_time`);
  assert.equal(rows.length, 62);
  const kept = Number(rows[1]!.output);
  assert.ok(kept > 60_000 && 60 * kept > 2 * 1024 * 1024, "the outputs held are over the bound");
  assert.deepEqual({ ...rows[0] }, { id: "waits", tool: "Bash", input: '{"command":"sleep 5"}', result_status: "done", is_error: 0, error_message: null, output: 7, start_time: "2026-01-16T09:00:01.000Z", end_time: "2026-01-16T09:02:03.000Z", duration_ms: 122_000 });
  assert.deepEqual({ ...rows[60] }, { id: "read-59", tool: "Read", input: '{"file_path":"59.log"}', result_status: "error", is_error: 1, error_message: "too big", output: kept, start_time: "2026-01-16T09:02:00.000Z", end_time: "2026-01-16T09:02:01.000Z", duration_ms: 1000 });
  assert.deepEqual({ ...rows[61] }, { id: "after", tool: "Grep", input: '{"pattern":"y"}', result_status: "done", is_error: 0, error_message: null, output: 2, start_time: "2026-01-16T09:02:02.000Z", end_time: "2026-01-16T09:02:04.000Z", duration_ms: 2000 });
  for (const r of rows.slice(1, 60)) assert.deepEqual([r.result_status, r.is_error, r.output, r.duration_ms], ["done", 0, kept, 1000], String(r.id));
});

test("a small session is read once: a change after its reading is not mixed into its rows", () => {
  const session = "11111111-2222-3333-4444-666666666666";
  const line = (i: number, text: string) => JSON.stringify({ type: "user", sessionId: session, uuid: `u${i}`, timestamp: `2026-01-01T00:00:0${i}.000Z`, message: { role: "user", content: text } });
  const first = [line(1, "one"), line(2, "two")];
  const r = claudeCode.read(changingInput(first, [line(1, "one"), line(2, "TWO!")]), { prices: PRICES, memo: (_k, make) => make() });
  const prompts: unknown[] = [];
  for (let x = r.next(); !x.done; x = r.next()) if (x.value.kind === "transcript:entry") prompts.push(x.value.summary);
  assert.deepEqual(prompts, ["one", "two"]);
});
