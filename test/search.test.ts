import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { SCHEMA_VERSION } from "../src/db/migrations.js";
import { openReadOnly, schemaVersion } from "../src/db/open.js";
import { splitCjk } from "../src/db/search.js";
import { openWritable } from "../src/db/write.js";
import { UserError } from "../src/errors.js";
import { matchExpression, search as searchDb, type SearchRow } from "../src/queries/search.js";
import { matchedWords, plainSnippet, renderSnippet, segments } from "../src/render/snippet.js";
import { cli, spawnCli, tmpDb, tmpDir, writeJsonl } from "./helpers.js";
import { at, cleanRun, dbWith, line } from "./query-helpers.js";

/** S001 as `obs search` runs it, on a fresh read-only connection. */
function search(dbPath: string, match: string, args: Record<string, unknown> = {}): SearchRow[] {
  const db = openReadOnly(dbPath);
  try {
    return searchDb(db, { match: matchExpression(match), execution_id: null, kind: null, since: null, until: null, limit: -1, ...args }).rows.map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}
const hits = (r: SearchRow[]) => r.map((h) => `${h.kind} ${h.table} ${h.id}`).sort();

/**
 * One failing run: a tool call that fails with ECONNREFUSED, the bus line and error entry that
 * report it, an assertion whose evidence quotes it, and a skill that failed on it. Worked out by
 * hand: each of those is one document, the tool call two (its text, and its error message), and
 * the skill_complete entry ingest writes for the failed skill quotes the error too: six.
 */
function failingRun(exec: string, start = 0): Record<string, unknown>[] {
  const L = (s: number, kind: string, f: Record<string, unknown> = {}) => line(exec, start + s, kind, f);
  const a = { instance_id: `${exec}-a1`, task_id: `${exec}-t1` };
  return [
    L(0, "execution:status", { status: "started", task_list_id: "tl-search" }),
    L(0, "task:status", { task_id: `${exec}-t1`, status: "running", title: "Migrate users" }),
    L(1, "agent:heartbeat", { ...a, status: "working", current_task_id: `${exec}-t1` }),
    L(2, "skill:start", { ...a, skill_trace_id: `${exec}-s1`, skill_name: "db-migrate", skill_file: "SKILLS.md", line_number: 3, section_title: "## Migrate" }),
    L(3, "tool:start", { ...a, tool_use_id: `${exec}-tu1`, tool: "Bash", input: { command: "npm run db:migrate" } }),
    L(4, "tool:end", { ...a, tool_use_id: `${exec}-tu1`, is_error: true, output: "connect ECONNREFUSED 127.0.0.1:5432", error_message: "Error: connect ECONNREFUSED 127.0.0.1:5432" }),
    L(5, "messagebus:event", { ...a, event_id: `${exec}-ev1`, source: "agent", event_type: "task.error", severity: "error", human_summary: "Postgres unreachable (ECONNREFUSED)" }),
    L(6, "transcript:entry", { ...a, entry_type: "error", category: "tool", summary: "Database refused connections", details: { port: 5432 } }),
    L(7, "assertion:result", { ...a, assertion_id: `${exec}-as1`, category: "tests_pass", description: "migrations apply", result: "fail", evidence: { stderr: "ECONNREFUSED" } }),
    L(8, "skill:end", { ...a, skill_trace_id: `${exec}-s1`, status: "failed", error: "migration aborted: ECONNREFUSED" }),
    L(9, "transcript:entry", { ...a, entry_type: "decision", category: "planning", summary: "Retry after starting postgres with docker compose" }),
  ];
}

test("what people type becomes a quoted FTS5 expression; --fts passes it through", () => {
  assert.equal(matchExpression("ECONNREFUSED"), `"ECONNREFUSED"`);
  assert.equal(matchExpression("connect 127.0.0.1:5432"), `"connect" "127.0.0.1:5432"`);
  assert.equal(matchExpression(`"connection refused" auth*`), `"connection refused" "auth"*`);
  assert.equal(matchExpression(`say "hi`), `"say" "hi"`, "an unclosed quote ends at the end");
  assert.equal(matchExpression(`a"b -- (x)`), `"a""b" "(x)"`, "quotes are doubled, punctuation-only words dropped");
  assert.equal(matchExpression("timeout OR ECONN*", true), "timeout OR ECONN*");
  assert.throws(() => matchExpression(" :: -- "), UserError);
  assert.throws(() => matchExpression("", true), UserError);
});

test("snippets: markers become highlights, whitespace one space, lines fit the width", () => {
  const s = "…first line\n\tthen \u0002ECONNREFUSED\u0003 on \u0002port\u0003 5432 and more text after it…";
  assert.deepEqual(segments("\u0002a\u0003 b").map((x) => [x.text, x.hit]), [["a", true], [" b", false]]);
  assert.equal(plainSnippet(s), "…first line then ECONNREFUSED on port 5432 and more text after it…");
  assert.deepEqual(matchedWords(s + " \u0002port\u0003"), ["ECONNREFUSED", "port"]);
  assert.deepEqual(renderSnippet(s, (w) => `[${w}]`, Infinity), ["…first line then [ECONNREFUSED] on [port] 5432 and more text after it…"]);
  const lines = renderSnippet(s, (w) => `[${w}]`, 24);
  // Broken at spaces; the last line keeps a column for the ellipsis that says text is left over.
  assert.deepEqual(lines, ["…first line then", "[ECONNREFUSED] on [port]", "5432 and more text…"]);
  assert.deepEqual(renderSnippet(s, (w) => w, 24, 2), ["…first line then", "ECONNREFUSED on port…"]);
  assert.deepEqual(renderSnippet("\u0002abcdefghijklmnopqrstuvwxyz\u0003", (w) => w, 20, 1), ["abcdefghijklmnopqrs…"], "a word longer than the line is cut");
});

test("S001 finds every kind of document, each once, with its execution, task, agent and time", async () => {
  const db = await dbWith([...cleanRun(), ...failingRun("exec-a")]);
  const r = search(db, "ECONNREFUSED");
  const skillEnd = r.find((h) => h.table === "transcript_entries")!;
  assert.equal(skillEnd.what, "skill_complete");
  assert.deepEqual(hits(r), [
    "assertion assertion_results exec-a-as1",
    "bus message_bus_log mbl-exec-a-ev1",
    `entry transcript_entries ${skillEnd.id}`,
    "error skill_traces exec-a-s1",
    "error tool_uses exec-a-tu1",
    "tool tool_uses exec-a-tu1",
  ]);
  // The error entry says "refused", not ECONNREFUSED: whole words match, stemmed.
  assert.deepEqual(hits(search(db, "refuse")), [`error transcript_entries ${search(db, "refuse")[0]!.id}`]);
  const tool = r.find((h) => h.kind === "tool")!;
  assert.equal(tool.execution_id, "exec-a");
  assert.equal(tool.task_id, "exec-a-t1");
  assert.equal(tool.agent, "exec-a-a1", "a tool call's agent is its entry's");
  assert.equal(tool.time, at(3));
  assert.equal(tool.what, "Bash");
  assert.match(tool.snippet, /\u0002ECONNREFUSED\u0003/);
  const bus = r.find((h) => h.kind === "bus")!;
  assert.equal(bus.agent, "exec-a-a1", "a bus line without an agent gets its task's");
  assert.equal(r.find((h) => h.table === "skill_traces")!.time, at(8));
  // Tool-use entries are not documents of their own: the tool call is.
  // ("npm run db:migrate" is in the tool call's input and in its entry's summary.)
  assert.deepEqual(hits(search(db, "npm")), ["tool tool_uses exec-a-tu1"]);
  assert.deepEqual(search(db, "nothing-like-this"), []);
});

test("S001 filters by execution, kind and time, and ranks the closer match first", async () => {
  const db = await dbWith([...failingRun("exec-a"), ...failingRun("exec-b", 3600)]);
  assert.equal(search(db, "ECONNREFUSED").length, 12);
  assert.deepEqual([...new Set(search(db, "ECONNREFUSED", { execution_id: "exec-b" }).map((h) => h.execution_id))], ["exec-b"]);
  assert.deepEqual(hits(search(db, "ECONNREFUSED", { kind: "error", execution_id: "exec-a" })), ["error skill_traces exec-a-s1", "error tool_uses exec-a-tu1"]);
  // Each run's six documents (worked out at failingRun); exec-b's start an hour after exec-a's.
  const docsOf = (exec: string) => ["assertion assertion_results", "bus message_bus_log", "entry transcript_entries", "error skill_traces", "error tool_uses", "tool tool_uses"].map((d) => `${exec} ${d}`);
  const byRun = (r: SearchRow[]) => r.map((h) => `${h.execution_id} ${h.kind} ${h.table}`).sort();
  assert.deepEqual(byRun(search(db, "ECONNREFUSED", { since: at(3600) })), docsOf("exec-b"));
  assert.deepEqual(byRun(search(db, "ECONNREFUSED", { until: at(3600) })), docsOf("exec-a"));
  assert.deepEqual(byRun(search(db, "ECONNREFUSED", { since: at(3603), until: at(3605) })), ["exec-b error tool_uses", "exec-b tool tool_uses"], "the tool call at 3603 s, not the bus line at 3605");
  assert.equal(search(db, "ECONNREFUSED", { limit: 3 }).length, 3);
  // Both words, near each other, in a short text beat one word in a long one.
  const best = search(db, `"connect ECONNREFUSED"`, { execution_id: "exec-a" });
  assert.deepEqual(hits(best), ["error tool_uses exec-a-tu1", "tool tool_uses exec-a-tu1"]);
  assert.equal(best[0]!.kind, "error", "the bare error message outranks the tool call that holds it among more text");
});

test("ingest keeps the index current when a tool call ends in a later file, and drops nothing it did not change", async () => {
  const dir = tmpDir();
  const db = tmpDb();
  const lines = failingRun("exec-a");
  const start = lines.filter((l) => l.kind !== "tool:end");
  writeJsonl(path.join(dir, "1.jsonl"), start);
  assert.equal((await cli(["ingest", path.join(dir, "1.jsonl"), "--db", db])).code, 0);
  assert.deepEqual(search(db, "ECONNREFUSED").filter((h) => h.table === "tool_uses"), [], "not ended yet: no output to find");
  writeJsonl(path.join(dir, "2.jsonl"), [lines.find((l) => l.kind === "tool:end")!, line("exec-a", 20, "tool:start", { tool_use_id: "late", tool: "Read", input: { file_path: "src/late.ts" } })]);
  assert.equal((await cli(["ingest", path.join(dir, "2.jsonl"), "--db", db])).code, 0);
  assert.deepEqual(hits(search(db, "ECONNREFUSED")).filter((h) => h.includes("tool_uses")), ["error tool_uses exec-a-tu1", "tool tool_uses exec-a-tu1"]);
  assert.deepEqual(hits(search(db, "late.ts")), ["tool tool_uses late"]);
  // Every document is there once, the triggers are back, and nothing is left pending.
  const w = openReadOnly(db);
  const docs = (w.prepare(`SELECT COUNT(*) AS n FROM search_fts`).get() as { n: number }).n;
  const triggers = (w.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tr_search_%'`).get() as { n: number }).n;
  const pending = (w.prepare(`SELECT COUNT(*) AS n FROM search_pending`).get() as { n: number }).n;
  w.close();
  // failingRun's documents: tool call + its error, bus, error entry, decision, assertion, skill error,
  // and the skill_invoke / skill_complete / task entries the ingest writes; plus the late tool call.
  const again = await dbWith([...failingRun("exec-a"), line("exec-a", 20, "tool:start", { tool_use_id: "late", tool: "Read", input: { file_path: "src/late.ts" } })]);
  const fresh = openReadOnly(again);
  assert.equal(docs, (fresh.prepare(`SELECT COUNT(*) AS n FROM search_fts`).get() as { n: number }).n, "as many documents as one ingest of everything gives");
  fresh.close();
  assert.equal(triggers, 18);
  assert.equal(pending, 0);
});

test("rows another producer writes are found at once (read-only), and folded in at obs's next write", async () => {
  const db = await dbWith(failingRun("exec-a"));
  // A producer of its own (as the seeds' Python writers would), on its own connection.
  const other = new Database(db);
  other.prepare(`INSERT INTO tool_uses (id, execution_id, task_id, tool, input, output, result_status, is_error, is_blocked, start_time)
                 VALUES ('py-1', 'exec-a', 'exec-a-t1', 'Grep', '{"pattern":"flaky"}', 'found a zebrafish', 'done', 0, 0, ?)`).run(at(30));
  other.prepare(`UPDATE transcript_entries SET summary = 'Retry once kubernetes is up' WHERE entry_type = 'decision'`).run();
  other.prepare(`DELETE FROM message_bus_log WHERE event_id = 'exec-a-ev1'`).run();
  other.close();
  const before = fs.readFileSync(db);
  assert.deepEqual(hits(search(db, "zebrafish")), ["tool tool_uses py-1"]);
  assert.equal(search(db, "kubernetes").length, 1, "the updated text is found");
  assert.deepEqual(search(db, "docker"), [], "the old text is not");
  assert.deepEqual(hits(search(db, "Postgres unreachable")), [], "the deleted bus line is gone");
  const r = await cli(["search", "zebrafish", "--db", db, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)[0].id, "py-1");
  assert.ok(fs.readFileSync(db).equals(before), "searching did not write the file");
  // obs's next write folds the noted rows into the index and empties the note.
  assert.equal((await cli(["ingest", writeJsonl(path.join(tmpDir(), "more.jsonl"), [line("exec-b", 0, "execution:status", { status: "started" })]), "--db", db])).code, 0);
  const w = openReadOnly(db);
  assert.equal((w.prepare(`SELECT COUNT(*) AS n FROM search_pending`).get() as { n: number }).n, 0);
  assert.equal((w.prepare(`SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH 'zebrafish OR kubernetes'`).get() as { n: number }).n, 2);
  assert.equal((w.prepare(`SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH 'docker OR postgres'`).get() as { n: number }).n, 0);
  w.close();
  assert.deepEqual(hits(search(db, "zebrafish")), ["tool tool_uses py-1"]);
});

test("the triggers run on an older SQLite: the system sqlite3 shell can still write the file", async (t) => {
  if (spawnSync("sqlite3", ["-version"]).status !== 0) {
    // A skip on CI would hide that the check never ran; on a developer's machine it says what is missing.
    const why = "this test needs the sqlite3 shell (apt-get install sqlite3, or brew install sqlite)";
    if (process.env.CI && !/^(0|false)$/i.test(process.env.CI)) assert.fail(`${why}; on CI (CI=${process.env.CI}) it fails rather than skips`);
    return t.skip(why);
  }
  const db = await dbWith(failingRun("exec-a"));
  const r = spawnSync("sqlite3", [db, `INSERT INTO message_bus_log (id, execution_id, timestamp, event_type, human_summary) VALUES ('sh-1', 'exec-a', '${at(40)}', 'note', 'written from the shell: okapi');`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(hits(search(db, "okapi")), ["bus message_bus_log sh-1"]);
});

test("migration 5 indexes a database written before search; --reindex rebuilds the index", async () => {
  const db = await dbWith([...failingRun("exec-a")]);
  // Make it a version-4 file, as an older obs left it.
  const w = openWritable(db);
  w.exec(`DROP TABLE search_fts; DROP TABLE search_pending;`);
  for (const { name } of w.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tr_search_%'`).all() as { name: string }[]) w.exec(`DROP TRIGGER ${name}`);
  w.prepare(`UPDATE obs_meta SET value = '4' WHERE key = 'schema_version'`).run();
  w.close();
  const old = await cli(["search", "ECONNREFUSED", "--db", db]);
  assert.equal(old.code, 2, "read-only commands do not migrate");
  assert.match(old.stderr, /has no search index.*\n.*obs search --reindex/);
  openWritable(db).close(); // any writing command migrates
  assert.equal(search(db, "ECONNREFUSED").length, 6);
  // A damaged index (rows lost behind obs's back) comes back whole.
  const d = new Database(db);
  d.exec(`DELETE FROM search_fts`);
  d.close();
  assert.deepEqual(search(db, "ECONNREFUSED"), []);
  const re = await cli(["search", "--reindex", "--db", db]);
  assert.equal(re.code, 0, re.stderr);
  assert.match(re.stdout, /^search index rebuilt: \d+ documents in [\d.]+ s\n$/);
  assert.equal(search(db, "ECONNREFUSED").length, 6);
});

test("prune takes an execution's documents with it", async () => {
  const db = await dbWith([...failingRun("exec-old"), ...failingRun("exec-new", 40 * 86400)]);
  const r = await cli(["prune", "--older-than", "30d", "--db", db], { env: { OBS_NOW: at(41 * 86400) } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...new Set(search(db, "ECONNREFUSED").map((h) => h.execution_id))], ["exec-new"]);
  const w = openReadOnly(db);
  assert.equal((w.prepare(`SELECT COUNT(*) AS n FROM search_fts WHERE execution_id = 'exec-old'`).get() as { n: number }).n, 0);
  assert.equal((w.prepare(`SELECT COUNT(*) AS n FROM search_pending`).get() as { n: number }).n, 0);
  w.close();
});

test("obs search: exit 0 on hits, 1 on none, 2 on errors; JSON is plain text with the matched words", async () => {
  const db = await dbWith([...failingRun("exec-a")]);
  const json = await cli(["search", "connect", "ECONNREFUSED", "--type", "error", "--db", db, "--json"]);
  assert.equal(json.code, 0);
  assert.equal(json.stderr, "");
  const out = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(out[0]), ["rank", "kind", "execution_id", "task_id", "agent", "time", "what", "table", "id", "snippet", "matches"]);
  assert.deepEqual(out.map((h: { id: string }) => h.id), ["exec-a-tu1"]);
  assert.equal(out[0].snippet, "Error: connect ECONNREFUSED 127.0.0.1:5432");
  assert.deepEqual(out[0].matches, ["connect", "ECONNREFUSED"]);
  const nd = await cli(["search", "ECONNREFUSED", "--db", db, "--ndjson"]);
  assert.equal(nd.stdout.trim().split("\n").length, 6);
  const none = await cli(["search", "okapi", "--db", db]);
  // As grep: nothing on stdout; the exit status says it, and a line on stderr tells a person.
  assert.deepEqual([none.code, none.stdout, none.stderr], [1, "", "obs: no matches\n"]);
  assert.equal((await cli(["search", "okapi", "--db", db, "--json"])).stdout, "[]\n");
  const human = await cli(["search", "ECONNREFUSED", "--exec", "exec", "--limit", "1", "--db", db], { columns: 60 });
  assert.equal(human.code, 0, human.stderr);
  // 49 columns of ids and time leave no room for the kind and what it is (20): they go on, whole, with the hit's id.
  assert.match(human.stdout, /^exec-a {2}exec-a-t1 {2}exec-a-a1 {2}2026-01-16 09:00:\d\d\n {2}assertion tests_pass {2}exec-a-as1\n/);
  assert.match(human.stdout, /\*ECONNREFUSED\*/, "without colour the matched word is starred");
  assert.match(human.stdout, /\(the best 1 shown; --limit N for more\)\n$/);
  for (const l of human.stdout.split("\n")) assert.ok(l.length <= 60, `wider than 60 columns: ${l}`);
  const bad = await cli(["search", "--fts", "timeout OR (", "--db", db]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fts: 'timeout OR \(' is not an FTS5 query/);
  assert.equal((await cli(["search", "x", "--type", "nope", "--db", db])).code, 2);
  assert.equal((await cli(["search", "--db", db])).code, 2);
  const noExec = await cli(["search", "x", "--exec", "exec-zzz", "--db", db]);
  assert.equal(noExec.code, 2);
  assert.match(noExec.stderr, /no execution 'exec-zzz'/);
});

/**
 * Entries in Chinese, Japanese and Korean, written without spaces between words, and their
 * documents (each entry is one: no task, tool or skill lines make more):
 *   zh-1 数据库连接失败 (the database connection failed)     zh-2 我们的数据库是什么 (what is our database)
 *   zh-3 用MySQL数据库存储会话 (sessions stored in MySQL)      ja-1 データベースに接続できません (cannot connect to the database)
 *   ja-2 テストが失敗しました (the test failed)                ko-1 데이터베이스가 응답하지 않습니다 (the database does not answer)
 *   en-1 Database refused connections
 */
function cjkRun(exec: string): Record<string, unknown>[] {
  const texts: [string, string][] = [
    ["zh-1", "数据库连接失败"], ["zh-2", "我们的数据库是什么"], ["zh-3", "用MySQL数据库存储会话"], ["ja-1", "データベースに接続できません"],
    ["ja-2", "テストが失敗しました"], ["ko-1", "데이터베이스가 응답하지 않습니다"], ["en-1", "Database refused connections"],
  ];
  return texts.map(([id, summary], i) => line(exec, i, "transcript:entry", { entry_id: `${exec}-${id}`, entry_type: "decision", category: "planning", summary }));
}
const ids = (r: SearchRow[]) => r.map((h) => h.id.replace(/^.*?-(?=[a-z]{2}-\d$)/, "")).sort();

test("CJK in what people type becomes the phrase of its characters, in --fts too; text without CJK is left as it is", () => {
  const Z = "\u200b";
  assert.equal(splitCjk("plain text, café"), "plain text, café");
  assert.equal(splitCjk("数据库连接失败"), `数${Z}据${Z}库${Z}连${Z}接${Z}失${Z}败`);
  // Only where unicode61 would join: a Latin word or a digit is cut from the CJK beside it, punctuation and spaces are separators already.
  assert.equal(splitCjk("用MySQL数据库。第１章 x"), `用${Z}MySQL${Z}数${Z}据${Z}库。第${Z}１${Z}章 x`);
  assert.equal(splitCjk("𠀀𠀁a"), `𠀀${Z}𠀁${Z}a`, "ideographs beyond the BMP (extension B) are characters too");
  assert.equal(splitCjk("ｶﾀｶﾅ데이터"), `ｶ${Z}ﾀ${Z}ｶ${Z}ﾅ${Z}데${Z}이${Z}터`, "half-width katakana and Hangul syllables");
  assert.equal(splitCjk(splitCjk("数据库")), splitCjk("数据库"), "cutting twice cuts nothing more");
  assert.equal(matchExpression("数据库"), `"数${Z}据${Z}库"`);
  assert.equal(matchExpression(`数据* "データ ベース" ECONN`), `"数${Z}据"* "デ${Z}ー${Z}タ ベ${Z}ー${Z}ス" "ECONN"`);
  assert.equal(matchExpression("数据库 OR 接続", true), `数${Z}据${Z}库 OR 接${Z}続`);
});

test("search finds Chinese, Japanese and Korean words inside longer runs, Latin words as before, and shows no separators", async () => {
  const db = await dbWith(cjkRun("exec-cjk"));
  assert.deepEqual(ids(search(db, "数据库")), ["zh-1", "zh-2", "zh-3"]);
  assert.deepEqual(ids(search(db, "连接")), ["zh-1"]);
  assert.deepEqual(ids(search(db, "データベース")), ["ja-1"]);
  assert.deepEqual(ids(search(db, "接続")), ["ja-1"], "Japanese 接続, not the Chinese 连接 that shares a character");
  assert.deepEqual(ids(search(db, "失败")), ["zh-1"]);
  assert.deepEqual(ids(search(db, "失敗")), ["ja-2"]);
  assert.deepEqual(ids(search(db, "데이터베이스")), ["ko-1"], "a Korean word with its particle attached");
  assert.deepEqual(ids(search(db, "MySQL")), ["zh-3"], "a Latin word inside CJK text");
  assert.deepEqual(ids(search(db, "用MySQL")), ["zh-3"]);
  // A phrase, not every character anywhere: zh-2 has 数 and 库, not side by side.
  assert.deepEqual(search(db, "数库"), []);
  assert.deepEqual(ids(search(db, "数据*")), ["zh-1", "zh-2", "zh-3"]);
  assert.deepEqual(ids(search(db, "database")), ["en-1"], "stemmed Latin words as before");
  assert.deepEqual(ids(search(db, "refuse")), ["en-1"]);
  const hit = search(db, "数据库").find((h) => h.id.endsWith("zh-1"))!;
  // The document is the summary and the details (none here) joined by a space.
  assert.equal(hit.snippet, "\u0002数据库\u0003连接失败 ");
  assert.equal(plainSnippet(hit.snippet), "数据库连接失败");
  assert.deepEqual(matchedWords(hit.snippet), ["数据库"]);
  for (const h of search(db, "数据库 OR データベース OR 데이터베이스 OR database")) assert.ok(!h.snippet.includes("\u200b"), h.snippet);
  // The index holds the cut text (a word of its characters), the table the text as written.
  const r = openReadOnly(db);
  assert.equal(r.prepare(`SELECT body FROM search_fts WHERE ref = 'exec-cjk-zh-1'`).pluck().get(), splitCjk("数据库连接失败 "));
  assert.equal(r.prepare(`SELECT summary FROM transcript_entries WHERE id = 'exec-cjk-zh-1'`).pluck().get(), "数据库连接失败");
  r.close();
});

test("obs search 数据库: exit 0 with the hits highlighted, 1 with nothing on stdout; --fts and --json", async () => {
  const db = await dbWith(cjkRun("exec-cjk"));
  const found = spawnCli(["search", "数据库", "--db", db]);
  assert.equal(found.stderr, "");
  assert.equal(found.code, 0);
  const snippets = found.stdout.split("\n").filter((l) => l.startsWith("    ")).map((l) => l.trim()).sort();
  assert.deepEqual(snippets, ["*数据库*连接失败", "我们的*数据库*是什么", "用MySQL*数据库*存储会话"]);
  assert.ok(!found.stdout.includes("\u200b"));
  assert.match(found.stdout, /^exec-cjk {2}— {2}— {2}2026-01-16 09:00:0\d {2}entry decision {2}exec-cjk-zh-\d$/m);
  const none = spawnCli(["search", "数库", "--db", db]);
  assert.deepEqual([none.code, none.stdout, none.stderr], [1, "", "obs: no matches\n"]);
  const fts = spawnCli(["search", "--fts", "连接 OR 接続", "--db", db, "--json"]);
  assert.equal(fts.code, 0, fts.stderr);
  const hits = JSON.parse(fts.stdout) as { id: string; snippet: string; matches: string[] }[];
  assert.deepEqual(hits.map((h) => h.id).sort(), ["exec-cjk-ja-1", "exec-cjk-zh-1"]);
  const ja = hits.find((h) => h.id === "exec-cjk-ja-1")!;
  assert.deepEqual([ja.snippet, ja.matches], ["データベースに接続できません", ["接続"]]);
});

test("CJK rows another producer writes through the triggers, without obs's function, are found at once and after obs's next write", async () => {
  const db = await dbWith(cjkRun("exec-cjk"));
  const other = new Database(db);
  other.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type, category, summary)
                 VALUES ('py-zh', ?, 100, 'exec-cjk', 'error', 'tool', '服务器内存不足，数据库已停止')`).run(at(30));
  other.prepare(`UPDATE transcript_entries SET summary = '数据库恢复了' WHERE id = 'exec-cjk-zh-2'`).run();
  other.close();
  // Found through the overlay: "内存" (memory) inside the run; zh-2's new text, not its old.
  assert.deepEqual(hits(search(db, "内存")), ["error transcript_entries py-zh"]);
  assert.deepEqual(ids(search(db, "数据库")), ["py-zh", "zh-1", "zh-2", "zh-3"], "zh-2's new text says 数据库 too");
  assert.deepEqual(search(db, "是什么"), [], "zh-2's old text is gone");
  assert.deepEqual(hits(search(db, "恢复")), ["entry transcript_entries exec-cjk-zh-2"]);
  assert.equal(search(db, "内存")[0]!.snippet, "服务器\u0002内存\u0003不足，数据库已停止 ");
  // obs's next write indexes the noted rows with the function: the index holds them cut.
  assert.equal((await cli(["ingest", writeJsonl(path.join(tmpDir(), "more.jsonl"), [line("exec-2", 0, "execution:status", { status: "started" })]), "--db", db])).code, 0);
  const r = openReadOnly(db);
  assert.equal(r.prepare(`SELECT COUNT(*) FROM search_pending`).pluck().get(), 0);
  assert.equal(r.prepare(`SELECT body FROM search_fts WHERE ref = 'py-zh'`).pluck().get(), splitCjk("服务器内存不足，数据库已停止 "));
  r.close();
  assert.deepEqual(hits(search(db, "内存")), ["error transcript_entries py-zh"]);
});

test("a database at schema 6 is told to rebuild for CJK words; migration 7 rebuilds its index; --reindex rebuilds a damaged one", async () => {
  const db = await dbWith(cjkRun("exec-cjk"));
  // As obs at schema 6 left it: the index with each run of CJK as one token, and without 7's indexes.
  const w = new Database(db);
  w.exec(`UPDATE search_fts SET body = replace(body, char(8203), '');
          DROP INDEX idx_tool_use_end_time; DROP INDEX idx_skill_trace_start_time; DROP INDEX idx_skill_trace_end_time;
          UPDATE obs_meta SET value = '6' WHERE key = 'schema_version';`);
  w.close();
  const old = await cli(["search", "数据库", "--db", db]);
  assert.equal(old.code, 1, "the old index has no such word");
  assert.match(old.stderr, /search index was built by an older obs, .* `obs search --reindex` \(or any obs command that writes the file, e\.g\. `obs init`\) rebuilds it\nobs: no matches\n$/);
  assert.doesNotMatch((await cli(["search", "database", "--db", db])).stderr, /older obs/, "a search without CJK is not told");
  assert.deepEqual(ids(search(db, "database")), ["en-1"], "Latin words are found in the old index as before");
  const init = spawnCli(["init", "--db", db]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, new RegExp(`from schema version 6 to ${SCHEMA_VERSION}`));
  const r = openReadOnly(db);
  assert.equal(schemaVersion(r), 7);
  assert.deepEqual(r.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('idx_tool_use_end_time', 'idx_skill_trace_start_time', 'idx_skill_trace_end_time') ORDER BY name`).pluck().all(),
    ["idx_skill_trace_end_time", "idx_skill_trace_start_time", "idx_tool_use_end_time"]);
  assert.equal(r.prepare(`SELECT COUNT(*) FROM search_fts`).pluck().get(), 7, "every entry once");
  r.close();
  const now = await cli(["search", "数据库", "--db", db]);
  assert.equal(now.code, 0, now.stderr);
  assert.equal(now.stderr, "");
  assert.deepEqual(ids(search(db, "数据库")), ["zh-1", "zh-2", "zh-3"]);
  // Rows lost behind obs's back come back with --reindex, cut as ingest cuts them.
  const d = new Database(db);
  d.exec(`DELETE FROM search_fts`);
  d.close();
  assert.deepEqual(search(db, "数据库"), []);
  const re = spawnCli(["search", "--reindex", "データベース", "--db", db, "--json"]);
  assert.equal(re.code, 0, re.stderr);
  assert.match(re.stderr, /^search index rebuilt: 7 documents in [\d.]+ s\n$/);
  assert.deepEqual(JSON.parse(re.stdout).map((h: { id: string }) => h.id), ["exec-cjk-ja-1"]);
  assert.deepEqual(ids(search(db, "数据库")), ["zh-1", "zh-2", "zh-3"]);
});
