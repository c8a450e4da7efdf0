/**
 * A source written in steps while another program writes to the file between two of them. The
 * source remembers which ids it claimed so that a first ingest need not look each new one up;
 * once someone else has written, that memory no longer says what the tables hold. The other
 * writer here writes from inside the source's reading (its lines are a generator), right after
 * a step was committed, so the interleaving is certain. In-process: the step is made small
 * before ingest is loaded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { all, tmpDir } from "./helpers.js";

process.env.OBS_INGEST_STEP = "10";
const { IngestRun } = await import("../src/ingest/ingest.js");
const { openWritable } = await import("../src/db/write.js");
const Database = createRequire(import.meta.url)("better-sqlite3") as typeof import("better-sqlite3");

function toolCall(exec: string, id: string, s: number): string[] {
  const ts = `2026-01-16T09:00:${String(s).padStart(2, "0")}Z`;
  return [
    JSON.stringify({ kind: "tool:start", execution_id: exec, timestamp: ts, tool_use_id: id, tool: "Read", input: { file_path: `${id}.ts` } }),
    JSON.stringify({ kind: "tool:end", execution_id: exec, timestamp: ts, tool_use_id: id, output: `read ${id}`, is_error: false }),
  ];
}

test("another program writes between two steps of a source: the rows it wrote are not taken over", () => {
  const db = path.join(tmpDir(), "obs.db");
  const conn = openWritable(db);
  const run = new IngestRun(conn, { skipInvalid: false });
  let wrote = false;
  function* lines() {
    let n = 0;
    const give = (texts: string[]) => texts.map((text) => ({ text, n: ++n, end: n * 100 }));
    // 20 events: two steps, the second committed as its last event is folded.
    for (let i = 0; i < 10; i++) yield* give(toolCall("exec-a", `t-${i}`, i));
    // A producer writing the file by SQL, between the steps.
    const producer = new Database(db);
    producer.prepare(`INSERT INTO tool_uses (id, execution_id, tool, input, result_status, start_time) VALUES ('t-theirs', 'exec-theirs', 'Bash', '{}', 'done', '2026-01-16T08:00:00Z')`).run();
    producer.close();
    wrote = true;
    yield* give([...toolCall("exec-a", "t-theirs", 30), ...toolCall("exec-a", "t-last", 31)]);
  }
  const result = run.foldLines({ name: "calls.jsonl", key: "calls.jsonl", firstLine: 1, logBefore: undefined, record: () => {} }, lines());
  run.finishStats();
  conn.close();
  assert.ok(wrote, "the producer wrote between the steps (it was not locked out)");
  assert.equal(result.written, true);
  assert.deepEqual(all(db, `SELECT id, execution_id, tool FROM tool_uses WHERE id LIKE 't-theirs%' ORDER BY id`), [
    { id: "t-theirs", execution_id: "exec-theirs", tool: "Bash" },
    { id: "t-theirs@exec-a", execution_id: "exec-a", tool: "Read" },
  ]);
  assert.equal(all(db, `SELECT id FROM tool_uses WHERE execution_id = 'exec-a'`).length, 12);
});
