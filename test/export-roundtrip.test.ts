/**
 * `obs export EXEC --jsonl | obs ingest -` gives the same rows: every run of the fixtures (Claude
 * Code sessions with subagents, stream-json runs, Codex rollouts, Gemini CLI recordings), the
 * demo's (waves, skills, assertions, bus events) and two resumed sessions that replay others'
 * history, exported and ingested into a second database, compared table by table and column by
 * column.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, ROOT, spawnCli, tmpDir } from "./helpers.js";

const FIXTURES = path.join(ROOT, "test", "fixtures");
type J = Record<string, unknown>;
const jsonLines = (file: string): J[] => fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as J);

/** Two sessions resumed under new ids: each new file carries the earlier session's lines (under its id) and then lines of its own. */
const RESUMED: { from: string; id: string }[] = [
  { from: path.join(FIXTURES, "claude-code", "claude-code-viewer", "fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl"), id: "c05e1c67-53e7-4862-81ae-d0e013e3270b" },
  { from: path.join(FIXTURES, "claude-code", "marot-spotter", "fa812bfe-b295-4cca-9c2f-fdf01028cb46.jsonl"), id: "c0812bfe-b295-4cca-9c2f-fdf01028cb46" },
];

/** The resumed session's file, as Claude Code writes one: the history, then a prompt and an answer a minute after it. */
function resume(from: string, id: string, dir: string): { file: string; history: J[] } {
  // The lines that name their session: history replayed under the earlier session's id.
  const history = jsonLines(from).filter((o) => typeof o.sessionId === "string");
  const last = Math.max(...history.map((o) => Date.parse(String(o.timestamp))).filter(Number.isFinite));
  const at = (s: number) => new Date(last + s * 1000).toISOString();
  const own = [
    { type: "user", sessionId: id, uuid: `${id}-u1`, timestamp: at(60), message: { role: "user", content: "carry on" } },
    {
      type: "assistant", sessionId: id, uuid: `${id}-u2`, parentUuid: `${id}-u1`, timestamp: at(61),
      message: {
        id: `msg_${id.slice(0, 8)}`, model: "claude-opus-4-6", role: "assistant", content: [{ type: "text", text: "Done." }],
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 60 } },
      },
    },
  ];
  const file = path.join(dir, `${id}.jsonl`);
  fs.writeFileSync(file, [...history, ...own].map((o) => JSON.stringify(o)).join("\n") + "\n");
  return { file, history };
}

/**
 * Every table of the schema: the rows of one execution it holds, or why it is not compared.
 * A table added to the schema fails the test until it is placed here.
 */
const TABLES: Record<string, { rows: string } | { not: string }> = {
  task_list_execution_runs: { rows: `SELECT * FROM task_list_execution_runs WHERE id = @e` },
  tasks: { rows: `SELECT * FROM tasks WHERE execution_id = @e` },
  task_dependencies: { rows: `SELECT d.* FROM task_dependencies d JOIN tasks t ON t.id = d.task_id WHERE t.execution_id = @e` },
  parallel_execution_waves: { rows: `SELECT * FROM parallel_execution_waves WHERE execution_run_id = @e` },
  wave_task_assignments: { rows: `SELECT a.* FROM wave_task_assignments a JOIN parallel_execution_waves w ON w.id = a.wave_id WHERE w.execution_run_id = @e` },
  wave_statistics: { rows: `SELECT * FROM wave_statistics WHERE execution_id = @e` },
  transcript_entries: { rows: `SELECT * FROM transcript_entries WHERE execution_id = @e` },
  tool_uses: { rows: `SELECT * FROM tool_uses WHERE execution_id = @e` },
  skill_traces: { rows: `SELECT * FROM skill_traces WHERE execution_id = @e` },
  assertion_chains: { rows: `SELECT * FROM assertion_chains WHERE execution_id = @e` },
  assertion_results: { rows: `SELECT * FROM assertion_results WHERE execution_id = @e` },
  events: { rows: `SELECT * FROM events WHERE execution_id = @e` },
  message_bus_log: { rows: `SELECT * FROM message_bus_log WHERE execution_id = @e` },
  build_agent_instances: { rows: `SELECT * FROM build_agent_instances WHERE execution_id = @e` },
  agent_heartbeats: { rows: `SELECT * FROM agent_heartbeats WHERE execution_id = @e` },
  llm_calls: { rows: `SELECT * FROM llm_calls WHERE execution_id = @e` },
  // The search index, as a search reads it: what it holds of the execution's rows.
  search_fts: { rows: `SELECT body, kind, ref, execution_id, ts FROM search_fts WHERE execution_id = @e` },
  concurrent_execution_sessions: { rows: `SELECT * FROM concurrent_execution_sessions` },
  search_fts_config: { not: "the full-text index's storage, compared above through search_fts" },
  search_fts_content: { not: "the full-text index's storage, compared above through search_fts" },
  search_fts_data: { not: "the full-text index's storage, compared above through search_fts" },
  search_fts_docsize: { not: "the full-text index's storage, compared above through search_fts" },
  search_fts_idx: { not: "the full-text index's storage, compared above through search_fts" },
  search_pending: { not: "rows the index has yet to take in: work of the file, not of a run" },
  ingest_log: { not: "the sources each file read: the second read the exports, not the records" },
  obs_meta: { not: "the file's own notes (schema version, writers, budget), not a run's" },
};

/**
 * Columns no event carries, by design: where a run was ingested from (`source`: the first file
 * read the records, the second the exports) and when a row was written (`created_at`).
 */
const NOT_CARRIED = new Set(["source", "created_at"]);

/**
 * One execution's rows of a table, in a stable order. A producer's id another execution also
 * uses is stored as `<id>@<execution>` by every execution but the first to use it, which keeps it
 * bare (docs/events.md, Identity). The second database reads the resumed sessions first, so
 * there they hold the bare ids and the sessions they resumed the suffixed ones: the suffix is
 * taken off to compare. Which copy is the original is `replay_of`, compared as it is.
 */
function rowsOf(db: string, sql: string, exec: string): string[] {
  const suffix = new RegExp(`@${exec.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=$|@|")`, "g");
  return all(db, sql, { e: exec })
    .map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !NOT_CARRIED.has(k)).map(([k, v]) => [k, typeof v === "string" ? v.replace(suffix, "") : v]))))
    .sort();
}

test("obs export --jsonl | obs ingest - keeps every row of every table, column by column, for every run of the fixtures and the demo", () => {
  const dir = tmpDir();
  const first = path.join(dir, "first.db");
  const second = path.join(dir, "second.db");
  assert.equal(spawnCli(["demo", "--db", first]).code, 0);
  const r = spawnCli(["ingest", FIXTURES, "--db", first]);
  assert.equal(r.code, 0, r.stderr);
  const resumedDir = path.join(dir, "resumed");
  fs.mkdirSync(resumedDir);
  const resumed = RESUMED.map(({ from, id }) => ({ id, of: path.basename(from, ".jsonl"), ...resume(from, id, resumedDir) }));
  const rr = spawnCli(["ingest", resumedDir, "--db", first]);
  assert.equal(rr.code, 0, rr.stderr);

  // What is at stake is there to lose: each field the round trip dropped or changed before.
  const count = (sql: string) => Number(all(first, sql)[0]!.n);
  assert.ok(count(`SELECT COUNT(*) AS n FROM llm_calls WHERE cache_write_1h_tokens > 0`) > 0, "1-hour cache writes");
  assert.ok(count(`SELECT COUNT(*) AS n FROM llm_calls WHERE reasoning_tokens > 0`) > 0, "reasoning tokens");
  assert.ok(count(`SELECT COUNT(*) AS n FROM llm_calls WHERE response_id IS NOT NULL`) > 0, "response ids");
  for (const t of ["tasks", "tool_uses", "transcript_entries", "llm_calls"]) assert.ok(count(`SELECT COUNT(*) AS n FROM ${t} WHERE replay_of IS NOT NULL`) > 0, `${t} replayed`);
  assert.ok(count(`SELECT COUNT(*) AS n FROM build_agent_instances WHERE agent_type NOT IN ('main')`) > 0, "subagents' types");
  for (const t of ["parallel_execution_waves", "wave_statistics", "skill_traces", "assertion_chains", "events", "task_dependencies"]) assert.ok(count(`SELECT COUNT(*) AS n FROM ${t}`) > 0, t);

  // Exported one by one, the resumed sessions first; one through a pipe, as the README shows it.
  const execs = all(first, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((x) => x.id as string);
  assert.ok(execs.length >= 26, `${execs.length} runs`);
  const order = [...resumed.map((x) => x.id), ...execs.filter((e) => !resumed.some((x) => x.id === e))];
  const out = path.join(dir, "exports");
  fs.mkdirSync(out);
  const piped = "a0122a74-998a-46ef-8793-308559460bb6";
  for (const e of order) {
    const x = spawnCli(["export", e, "--jsonl", "--db", first]);
    assert.equal(x.code, 0, `${e}: ${x.stderr}`);
    if (e === piped) {
      const i = spawnCli(["ingest", "-", "--db", second], { input: x.stdout });
      assert.equal(i.code, 0, i.stderr);
    } else fs.writeFileSync(path.join(out, `${String(order.indexOf(e)).padStart(3, "0")}.jsonl`), x.stdout);
  }
  for (const sources of [fs.readdirSync(out).slice(0, resumed.length), fs.readdirSync(out).slice(resumed.length)]) {
    const i = spawnCli(["ingest", ...sources.map((f) => path.join(out, f)), "--db", second]);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stderr, /events \([^)]*\), 0 rejected, /, "every exported line is read");
    assert.doesNotMatch(i.stderr, /skipped/, "every exported line is used");
  }

  const tables = all(first, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).map((x) => x.name as string);
  assert.deepEqual(tables.filter((t) => !(t in TABLES)), [], "every table is compared, or says why not");
  assert.deepEqual(all(second, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((x) => x.id), execs, "the same runs");
  for (const t of tables) {
    const how = TABLES[t]!;
    if (!("rows" in how)) continue;
    for (const e of how.rows.includes("@e") ? execs : [""]) {
      const before = rowsOf(first, how.rows, e);
      const after = rowsOf(second, how.rows, e);
      assert.equal(after.length, before.length, `${e} ${t}: ${after.length} rows, not ${before.length}`);
      const lost = before.filter((x) => !after.includes(x));
      assert.deepEqual(after.filter((x) => !before.includes(x)), lost.length ? ["(rows above)"] : [], `${e} ${t}: changed rows; the first had:\n${lost.slice(0, 3).join("\n")}`);
    }
  }
  // The ids did move: in the second database the resumed sessions hold them bare.
  const moved = all(second, `SELECT COUNT(*) AS n FROM tool_uses WHERE execution_id = ? AND id LIKE '%@' || ?`, resumed[1]!.of, resumed[1]!.of)[0]!.n;
  assert.ok(Number(moved) > 0);

  // Worked out from the records themselves.
  // The stream-json run's 1-hour cache writes: each response's largest count, summed.
  const stream = jsonLines(path.join(FIXTURES, "claude-stream-json", "HamzaAlayed-laravel-claude-agents", "stream-json-subagent.jsonl"));
  const oneHour = new Map<string, number>();
  for (const o of stream) {
    const m = o.message as { id?: string; usage?: { cache_creation?: { ephemeral_1h_input_tokens?: number } } } | undefined;
    if (o.type !== "assistant" || !m?.id) continue;
    oneHour.set(m.id, Math.max(oneHour.get(m.id) ?? 0, m.usage?.cache_creation?.ephemeral_1h_input_tokens ?? 0));
  }
  const wanted1h = [...oneHour.values()].reduce((a, b) => a + b, 0);
  assert.ok(wanted1h > 0);
  for (const db of [first, second]) {
    const ls = JSON.parse(spawnCli(["ls", "--json", "--db", db]).stdout) as { execution_id: string; cache_write_1h_tokens: number | null }[];
    assert.equal(ls.find((x) => x.execution_id === piped)?.cache_write_1h_tokens, wanted1h, db);
  }
  // The subagents' types: the subagent_type of the Task calls that started them.
  const session = "fa812bfe-b295-4cca-9c2f-fdf01028cb46";
  const types = new Map<string, string>();
  for (const o of jsonLines(path.join(FIXTURES, "claude-code", "marot-spotter", `${session}.jsonl`))) {
    const content = (o.message as { content?: unknown } | undefined)?.content;
    if (o.type !== "assistant" || !Array.isArray(content)) continue;
    for (const b of content as { type?: string; name?: string; id?: string; input?: { subagent_type?: string } }[]) {
      if (b.type === "tool_use" && b.name === "Task" && b.input?.subagent_type) types.set(b.id!, b.input.subagent_type);
    }
  }
  assert.equal(types.size, 2);
  // (Its task ids are `<id>@<session>` in the second database: the resumed session holds them.)
  assert.deepEqual(
    all(second, `SELECT replace(task_id, '@' || @s, '') AS task_id, agent_type FROM build_agent_instances
                  WHERE execution_id = @s AND replace(task_id, '@' || @s, '') IN (SELECT value FROM json_each(@ids)) ORDER BY 1`, { s: session, ids: JSON.stringify([...types.keys()]) }),
    [...types].sort(([a], [b]) => (a < b ? -1 : 1)).map(([task_id, agent_type]) => ({ task_id, agent_type })),
  );
  // A resumed session's history is the earlier session's: each of its tool calls a replay of it.
  for (const x of resumed) {
    const calls = new Set(x.history.flatMap((o) => ((o.message as { content?: unknown } | undefined)?.content as { type?: string; id?: string }[] | undefined ?? []))
      .filter((b) => typeof b === "object" && b?.type === "tool_use").map((b) => b.id));
    assert.ok(calls.size > 0);
    assert.deepEqual(all(second, `SELECT replay_of, COUNT(*) AS n FROM tool_uses WHERE execution_id = ? GROUP BY replay_of`, x.id), [{ replay_of: x.of, n: calls.size }]);
  }
  // And the questions asked of the runs have the same answers.
  assert.equal(spawnCli(["ls", "--json", "--db", second]).stdout, spawnCli(["ls", "--json", "--db", first]).stdout);
  for (const e of [session, piped, "exec-103"]) {
    assert.equal(spawnCli(["summary", e, "--db", second]).stdout, spawnCli(["summary", e, "--db", first]).stdout, e);
  }
});
