import { test } from "node:test";
import assert from "node:assert/strict";
import { openReadOnly } from "../src/db/open.js";
import { backlogSql, ChangeFeed, type Source } from "../src/live/feed.js";
import { at, dbWith, line, slowCallAmongShort } from "./query-helpers.js";

const E = (s: number, kind: string, f: Record<string, unknown> = {}) => line("e", s, kind, f);

/**
 * A call and a skill that start early and end late, among 40 short calls: a backlog of the last
 * few events reaches back only past the short calls, so the long call's and the skill's ends are
 * found by their end times alone.
 */
async function longCallFile(): Promise<string> {
  return dbWith([
    E(0, "execution:status", { status: "started" }),
    E(1, "skill:start", { skill_trace_id: "sk", skill_name: "migrate", skill_file: "SKILLS.md", line_number: 3, section_title: "## Migrate", instance_id: "a1" }),
    ...slowCallAmongShort("e"),
    E(86, "skill:end", { skill_trace_id: "sk", status: "success" }),
  ]);
}

/** What EXPLAIN QUERY PLAN says of a statement, one detail a row. */
function plan(dbPath: string, sql: string): string[] {
  const db = openReadOnly(dbPath);
  try {
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ floor: at(0), top: 1000, exec: "e", n: 3 }) as { detail: string }[]).map((r) => r.detail);
  } finally {
    db.close();
  }
}

test("following every execution, the backlog picks calls and skills through the indexes on their start and end times, never by a scan", async () => {
  const db = await longCallFile();
  const indexed: [Source, string[]][] = [
    ["tool_uses", ["SEARCH tool_uses USING COVERING INDEX idx_tool_use_timestamp (start_time>?)", "SEARCH tool_uses USING COVERING INDEX idx_tool_use_end_time (end_time>?)"]],
    ["skill_traces", ["SEARCH skill_traces USING COVERING INDEX idx_skill_trace_start_time (start_time>?)", "SEARCH skill_traces USING COVERING INDEX idx_skill_trace_end_time (end_time>?)"]],
    ["transcript_entries", ["SEARCH transcript_entries USING COVERING INDEX idx_transcript_timestamp (timestamp>?)"]],
  ];
  for (const [table, uses] of indexed) {
    const details = plan(db, backlogSql(table, null).dated);
    for (const u of uses) assert.ok(details.includes(u), `${table}: ${u} is not in the plan:\n${details.join("\n")}`);
    // The rows are then read by rowid, one lookup each, in rowid order without a sort.
    assert.ok(details.includes(`SEARCH ${table} USING INTEGER PRIMARY KEY (rowid=?)`), details.join("\n"));
    assert.deepEqual(details.filter((d) => /^SCAN|TEMP B-TREE|rowid<\?/.test(d)), [], `${table} is read whole:\n${details.join("\n")}`);
  }
  // How far back to reach: the n-th latest start, read from the start index's end.
  assert.deepEqual(plan(db, backlogSql("skill_traces", null).nth), ["SEARCH skill_traces USING COVERING INDEX idx_skill_trace_start_time (start_time>?)"]);
  // Following one execution, its own index bounds what is read.
  assert.ok(plan(db, backlogSql("tool_uses", "e").dated).some((d) => d.startsWith("SEARCH tool_uses USING INDEX idx_tool_use_execution (execution_id=?")));
});

test("following every execution, the backlog has the ends of a call and a skill that began before its reach", async () => {
  const db = await longCallFile();
  const feed = new ChangeFeed(db);
  const ends = feed.backlog(3, undefined, (e) => e.type === "tool:end" || e.type === "skill:end");
  feed.close();
  // The last three ends: c39's at 81 s, the slow call's at 85 s, the skill's at 86 s; their starts
  // (1 s and 1.5 s) are long before the reach of a backlog of three.
  assert.deepEqual(ends.map((e) => `${e.type} ${e.timestamp}`), [`tool:end ${at(81)}`, `tool:end ${at(85)}`, `skill:end ${at(86)}`]);
  assert.equal((ends[1] as { toolUseId: string }).toolUseId, "slow");
  assert.equal((ends[2] as { skillTraceId: string }).skillTraceId, "sk");
});
