/**
 * When a Gemini CLI recording's tool calls ran. A call's `timestamp` is when its round was
 * recorded (after the round's calls finished); several rounds can sit in one `gemini` message,
 * whose own `timestamp` is when the message was first written; a call id Gemini CLI made itself
 * (`<tool>-<epoch ms>-<hex>`) carries when the model asked for it. The expected rows were worked
 * out from the raw files by hand (jq over the ids and timestamps), not by obs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { all, cli, one, ROOT, tmpDb, tmpDir, writeJsonl } from "./helpers.js";
import fs from "node:fs";

const FIX = path.join(ROOT, "test", "fixtures", "gemini-cli");
const FILE_OPS = path.join(FIX, "codemie-ai-codemie-code", "session-2026-01-16T11-01-file-ops-37b7abef.json");
const EXEC = "37b7abef-713d-4522-85f0-8ff15a4e6d17";
const MESSAGE = `${EXEC}/9d6e5250-8892-491e-84ed-0506e7fffcdc`;

// Message 9d6e5250 (timestamp 11:04:00.678): three rounds, recorded at 11:04:00.677, 11:04:13.954
// and 11:04:26.219. Each call starts at the epoch ms in its id (1768561360195 = 11:02:40.195, …)
// and ends at its own timestamp; duration = end − start.
const ROUNDS = [
  { tool: "write_todos", input: "todos", start: "2026-01-16T11:02:40.195Z", end: "2026-01-16T11:04:00.677Z", ms: 80482 },
  { tool: "delegate_to_agent", input: "objective", start: "2026-01-16T11:02:40.282Z", end: "2026-01-16T11:04:00.677Z", ms: 80395 },
  { tool: "write_todos", input: "todos", start: "2026-01-16T11:04:09.914Z", end: "2026-01-16T11:04:13.954Z", ms: 4040 },
  { tool: "read_file", input: "SECURITY.md", start: "2026-01-16T11:04:10.182Z", end: "2026-01-16T11:04:13.954Z", ms: 3772 },
  { tool: "read_file", input: "scripts/validate-secrets.js", start: "2026-01-16T11:04:10.183Z", end: "2026-01-16T11:04:13.954Z", ms: 3771 },
  { tool: "read_file", input: "src/env/manager.ts", start: "2026-01-16T11:04:10.297Z", end: "2026-01-16T11:04:13.954Z", ms: 3657 },
  { tool: "write_todos", input: "todos", start: "2026-01-16T11:04:25.885Z", end: "2026-01-16T11:04:26.219Z", ms: 334 },
  { tool: "search_file_content", input: "CredentialStore", start: "2026-01-16T11:04:25.886Z", end: "2026-01-16T11:04:26.219Z", ms: 333 },
  { tool: "read_file", input: ".husky/pre-commit", start: "2026-01-16T11:04:25.975Z", end: "2026-01-16T11:04:26.219Z", ms: 244 },
];

test("Gemini CLI: the nine calls of one message run from when the model asked for each to when its round was recorded, in the file's order", async () => {
  const db = tmpDb();
  assert.equal((await cli(["ingest", FILE_OPS, "--db", db])).code, 0);
  const rows = all(db, `
    SELECT t.tool, t.input, t.start_time, t.end_time, t.duration_ms, e.timestamp AS entry_at
      FROM tool_uses t JOIN transcript_entries e ON e.id = t.transcript_entry_id
     WHERE e.id LIKE ? || '#%' ORDER BY e.sequence`, MESSAGE);
  assert.equal(rows.length, 9);
  rows.forEach((r, i) => {
    const want = ROUNDS[i]!;
    assert.equal(r.tool, want.tool, `call ${i + 1}`);
    assert.ok(String(r.input).includes(want.input), `call ${i + 1}: ${String(r.input).slice(0, 80)}`);
    assert.deepEqual([r.start_time, r.end_time, r.duration_ms, r.entry_at], [want.start, want.end, want.ms, want.start], `call ${i + 1}`);
  });
  // No call of a later round starts before the round before it was recorded: the model's thinking in between is not tool time.
  for (let i = 1; i < rows.length; i++) {
    const prevRoundEnd = rows.slice(0, i).map((r) => String(r.end_time)).filter((e) => e < String(rows[i]!.end_time)).pop();
    if (prevRoundEnd) assert.ok(String(rows[i]!.start_time) >= prevRoundEnd, `call ${i + 1} starts after its previous round ended`);
  }

  // obs trace: the calls in the file's order, at their own times.
  const trace = await cli(["trace", "--exec", "37b7abef", "--type", "tool_use", "--json", "--db", db]);
  assert.equal(trace.code, 0, trace.stderr);
  const task = (JSON.parse(trace.stdout) as { agents: { tasks: { task_id: string; started_at: string; completed_at: string; steps: { timestamp: string; tool: string; duration_ms: number }[] }[] }[] })
    .agents[0]!.tasks.find((t) => t.task_id === `${EXEC}/df8fe184-c1db-4ce5-ac10-075ec086b3c0`)!;
  assert.deepEqual(task.steps.map((s) => [s.timestamp, s.tool, s.duration_ms]), ROUNDS.map((w) => [w.start, w.tool, w.ms]));
  // The turn still runs from its prompt to the message after the calls.
  assert.deepEqual([task.started_at, task.completed_at], ["2026-01-16T11:02:17.363Z", "2026-01-16T11:04:44.880Z"]);
  const text = await cli(["trace", "--exec", "37b7abef", "--type", "tool_use", "--db", db]);
  assert.equal(text.stdout.split("\n").filter((l) => l.includes("11:04:00.678")).length, 0, "no call at the message's time");

  // The model call the message records answered before its first round was asked for: it is at the last request of that round.
  assert.equal(one(db, `SELECT start_time FROM llm_calls WHERE id = ?`, MESSAGE)?.start_time, "2026-01-16T11:02:40.282Z");

  // obs summary's A005 over the run's 14 calls (the 9 above and 5 later ones, each from its id's ms to its timestamp:
  // write_file 3,082 / 15 / 82 ms, read_file 37 / 12 ms), percentiles interpolated as SQLite's percentile() does:
  // read_file [12, 37, 244, 3657, 3771, 3772] → P50 (244 + 3657) / 2 = 1950.5 → 1951; write_todos [334, 4040, 80482] → P50 4040.
  const summary = await cli(["summary", "37b7abef", "--json", "--db", db]);
  assert.equal(summary.code, 0, summary.stderr);
  const a005 = Object.fromEntries((JSON.parse(summary.stdout) as { A005: { tool: string; calls: number; p50_ms: number; max_ms: number }[] }).A005.map((r) => [r.tool, [r.calls, r.p50_ms, r.max_ms]]));
  assert.deepEqual(a005, {
    delegate_to_agent: [1, 80395, 80395], write_todos: [3, 4040, 80482], read_file: [6, 1951, 3772],
    write_file: [3, 82, 3082], search_file_content: [1, 333, 333],
  });
});

/** A recording with every case of the rule, as Gemini CLI writes it whole (.json) and as lines (.jsonl). */
function recording(sessionId: string) {
  const at = (s: string) => `2026-04-01T10:00:${s}Z`;
  const made = (tool: string, s: string, hex: string) => `${tool}-${Date.parse(at(s))}-${hex}`;
  const call = (id: string, name: string, end: string) => ({ id, name, args: { file_path: id }, status: "success", timestamp: at(end), result: [{ functionResponse: { id, name, response: { output: "ok" } } }] });
  const tokens = { input: 100, output: 10, cached: 0, thoughts: 0, tool: 0, total: 110 };
  const header = { sessionId, projectHash: "h", startTime: at("00.000"), lastUpdated: at("50.000") };
  const u1 = { id: "u1", type: "user", timestamp: at("01.000"), content: "look around" };
  // Written when the response ended (03.000), before its calls ran; then three more rounds.
  const m1 = { id: "m1", type: "gemini", timestamp: at("03.000"), model: "gemini-2.5-pro", content: "Reading.", tokens };
  const round1 = [call(made("read_file", "02.500", "a1"), "read_file", "04.000"), call(made("glob", "02.600", "b2"), "glob", "04.000")];
  const round2 = [call(made("read_file", "09.000", "c3"), "read_file", "09.250"), call("x1y2z3", "read_file", "09.250")];
  const round3 = [call("q9w8e7", "read_file", "15.000")];
  // An id that looks made but whose time is before the prompt: not a time of this call.
  const round4 = [call(made("read_file", "00.500", "d4"), "read_file", "20.000")];
  const m2 = { id: "m2", type: "gemini", timestamp: at("22.000"), model: "gemini-2.5-pro", content: "Done.", tokens };
  const u2 = { id: "u2", type: "user", timestamp: at("30.000"), content: "run it" };
  // Written only when its first round was recorded (40.001, after it ran at 40.000), as older Gemini CLI did.
  const m3 = { id: "m3", type: "gemini", timestamp: at("40.001"), model: "gemini-2.5-pro", content: "", tokens };
  const round5 = [call(made("run_shell_command", "32.000", "e5"), "run_shell_command", "40.000")];
  const round6 = [call(made("read_file", "45.000", "f6"), "read_file", "45.100")];
  const u3 = { id: "u3", type: "user", timestamp: at("48.000"), content: "never mind" };
  const json = { ...header, messages: [u1, { ...m1, toolCalls: [...round1, ...round2, ...round3, ...round4] }, m2, u2, { ...m3, toolCalls: [...round5, ...round6] }] };
  const lines = [
    header, u1, { $set: { lastUpdated: at("01.000") } },
    m1, { ...m1, toolCalls: round1 }, { ...m1, toolCalls: [...round1, ...round2] }, { $set: { lastUpdated: at("09.250") } },
    { ...m1, toolCalls: [...round1, ...round2, ...round3] }, { ...m1, toolCalls: [...round1, ...round2, ...round3, ...round4] },
    m2, u2, { ...m3, toolCalls: round5 }, { ...m3, toolCalls: [...round5, ...round6] },
    u3, { $rewindTo: "u3" }, { $set: { lastUpdated: at("50.000") } },
  ];
  return { json, lines };
}

test("Gemini CLI .json and .jsonl ($set, messages written again, $rewindTo): the same start and end for every call", async () => {
  const dir = tmpDir();
  const wholeFile = path.join(dir, "whole", "session-2026-04-01T10-00-gwhole00.json");
  fs.mkdirSync(path.dirname(wholeFile), { recursive: true });
  fs.writeFileSync(wholeFile, JSON.stringify(recording("g-whole").json, null, 2));
  const linesFile = writeJsonl(path.join(dir, "lines", "session-2026-04-01T10-00-glines00.jsonl"), recording("g-lines").lines);
  const at = (s: string) => `2026-04-01T10:00:${s}Z`;
  // [tool, start, end, ms], in the file's order, by hand:
  const want = [
    ["read_file", at("03.000"), at("04.000"), 1000], // asked at 02.500; the response ended at 03.000, the later of the two
    ["glob", at("03.000"), at("04.000"), 1000],
    ["read_file", at("09.000"), at("09.250"), 250], // a later round: its id's time, not the message's 03.000
    ["read_file", at("09.250"), at("09.250"), 0], // the model's id: no start known, none made up
    ["read_file", at("15.000"), at("15.000"), 0],
    ["read_file", at("20.000"), at("20.000"), 0], // its id's time (00.500) is before the prompt
    ["run_shell_command", at("32.000"), at("40.000"), 8000], // asked at 32.000; the message was written after it ran
    ["read_file", at("45.000"), at("45.100"), 100],
  ];
  for (const [file, exec] of [[wholeFile, "g-whole"], [linesFile, "g-lines"]] as const) {
    const db = tmpDb();
    const r = await cli(["ingest", file, "--db", db]);
    assert.equal(r.code, 0, r.stderr);
    const rows = all(db, `
      SELECT t.tool, t.start_time, t.end_time, t.duration_ms FROM tool_uses t JOIN transcript_entries e ON e.id = t.transcript_entry_id
       WHERE t.execution_id = ? ORDER BY e.sequence`, exec).map((x) => [x.tool, x.start_time, x.end_time, x.duration_ms]);
    assert.deepEqual(rows, want, file);
    // m1's tokens are its response's (at 03.000); m3's answered before its first round was asked for (32.000).
    assert.deepEqual(all(db, `SELECT id, start_time FROM llm_calls WHERE execution_id = ? ORDER BY id`, exec).map((x) => [x.id, x.start_time]),
      [[`${exec}/m1`, at("03.000")], [`${exec}/m2`, at("22.000")], [`${exec}/m3`, at("32.000")]], file);
    const v = await cli(["validate", exec, "--db", db]);
    assert.equal(v.code, 0, v.stdout);
  }
});
