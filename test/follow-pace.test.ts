/**
 * A followed file of another tool's format is read again whole at each change; a session being
 * written changes many times a second, so each reading waits a few times the last one's time
 * (follow.ts, PACE). Run in-process against a real file and database, both ways under the same
 * load: paced, the file is read far fewer times; either way, what was appended last is in the
 * database when the follow stops, the change left waiting included.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { openWritable } from "../src/db/write.js";
import { follow } from "../src/ingest/follow.js";
import { all, one, spawnCli, tmpDir } from "./helpers.js";

const SESSION = "5d0c1ab2-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

/** A Claude Code exchange: a prompt, a tool call and its result (three lines, one tool call). */
function exchange(k: number): string[] {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + k * 3000 + s * 1000).toISOString();
  const base = { sessionId: SESSION, cwd: "/work", version: "2.0.0" };
  return [
    { ...base, type: "user", uuid: `u-${k}`, timestamp: at(0), message: { role: "user", content: `step ${k}: list the files` } },
    { ...base, type: "assistant", uuid: `a-${k}`, timestamp: at(1), message: { id: `msg-${k}`, model: "claude-sonnet-4-5", role: "assistant", usage: { input_tokens: 10, output_tokens: 5 }, content: [{ type: "tool_use", id: `call-${k}`, name: "Bash", input: { command: `ls ${"x".repeat(200)}` } }] } },
    { ...base, type: "user", uuid: `r-${k}`, timestamp: at(2), message: { role: "user", content: [{ type: "tool_result", tool_use_id: `call-${k}`, content: "a\nb\n".repeat(50) }] } },
  ].map((o) => JSON.stringify(o));
}

/**
 * Follows a session that grows by an exchange every 15 ms, for `ms` or until it was read `readings`
 * times (within `ms`); how many times it was read, the tool calls stored, and how long it ran.
 */
async function followGrowing(dir: string, pace: number | undefined, until: { ms: number; readings?: number }): Promise<{ readings: number; calls: number; written: number; ms: number }> {
  const file = path.join(dir, `${SESSION}.jsonl`);
  const first = 500;
  fs.writeFileSync(file, Array.from({ length: first }, (_, k) => exchange(k)).flat().join("\n") + "\n");
  const dbPath = path.join(dir, "obs.db");
  const db = openWritable(dbPath);
  const stop = new AbortController();
  let written = first;
  let lines = 0;
  let readings = 0;
  const started = performance.now();
  let ran = 0;
  const grow = setInterval(() => fs.appendFileSync(file, exchange(written++).join("\n") + "\n"), 15);
  const end = () => {
    if (stop.signal.aborted) return;
    clearInterval(grow);
    clearTimeout(timer);
    ran = performance.now() - started;
    // The last exchange comes just before the stop: paced, its reading is still waiting then.
    fs.appendFileSync(file, exchange(written++).join("\n") + "\n");
    stop.abort();
  };
  const timer = setTimeout(end, until.ms);
  try {
    await follow(db, [file], {
      signal: stop.signal, skipInvalid: false, pace,
      onBatch: (s) => {
        if (s.lines > lines) readings++;
        lines = s.lines;
        // Stopped between two looks, as the timer stops it.
        if (until.readings !== undefined && readings >= until.readings) setTimeout(end, 0);
      },
    });
  } finally {
    db.close();
  }
  return { readings, calls: Number(one(dbPath, "SELECT COUNT(*) AS n FROM tool_uses")?.n), written, ms: ran };
}

test("a followed session read whole at each change is read at a pace, and its last change is read before the follow ends", async () => {
  // How many readings fit in a given time is the machine's speed: unpaced, the follow runs until
  // it has read the file 12 times (a reading on a loaded machine can take a second), and paced
  // for as long as that took, under the same load.
  const unpaced = await followGrowing(tmpDir(), 0, { ms: 120_000, readings: 12 });
  const paced = await followGrowing(tmpDir(), undefined, { ms: unpaced.ms });
  for (const r of [unpaced, paced]) assert.equal(r.calls, r.written, "every exchange appended, the last one too, is stored");
  assert.ok(unpaced.readings >= 12, `read at every change without a pace (${unpaced.readings} readings in ${unpaced.ms.toFixed(0)} ms)`);
  assert.ok(paced.readings * 2 <= unpaced.readings, `paced, it is read at most half as often: ${paced.readings} readings against ${unpaced.readings} in ${unpaced.ms.toFixed(0)} ms`);
});

test("a session read again as it grows keeps one end for each agent: its latest", () => {
  const dir = tmpDir();
  const file = path.join(dir, `${SESSION}.jsonl`);
  const dbPath = path.join(dir, "obs.db");
  for (let k = 0; k < 3; k++) {
    fs.appendFileSync(file, exchange(k).join("\n") + "\n");
    const r = spawnCli(["ingest", file, "--db", dbPath]);
    assert.equal(r.code, 0, r.stderr);
  }
  // Exchange k runs from k×3 s to k×3+2 s: the agent worked from 0 s and ended at 8 s.
  assert.deepEqual(all(dbPath, "SELECT status, timestamp FROM agent_heartbeats ORDER BY timestamp"), [
    { status: "working", timestamp: "2026-01-01T00:00:00.000Z" },
    { status: "completed", timestamp: "2026-01-01T00:00:08.000Z" },
  ]);
  assert.deepEqual(one(dbPath, "SELECT status, completed_at, last_heartbeat_at FROM build_agent_instances"), {
    status: "completed", completed_at: "2026-01-01T00:00:08.000Z", last_heartbeat_at: "2026-01-01T00:00:08.000Z",
  });
});
