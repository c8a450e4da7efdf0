/**
 * Text as a terminal lays it out: a CJK character, a fullwidth form or an emoji takes two
 * columns, a combining mark or a joiner none. Measured so, cut and wrapped between characters
 * (never inside a surrogate pair, an accented letter or an emoji sequence), tables and timelines
 * with Chinese and Japanese summaries fit the width and keep their columns aligned.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { IO } from "../src/io.js";
import { cut, cutAtWord, wrapWords } from "../src/render/format.js";
import { renderSnippet } from "../src/render/snippet.js";
import { renderTable } from "../src/render/table.js";
import { clusters, displayWidth, padColumns, sliceColumns, visibleWidth } from "../src/render/width.js";
import { spawnCli } from "./helpers.js";
import { dbWith, line } from "./query-helpers.js";

const CASES: [string, number][] = [
  ["abc", 3],
  ["数据库", 6],
  ["ｆｕｌｌ", 8],
  ["한국어", 6],
  ["テスト", 6],
  ["e\u0301", 1], // e + combining acute
  ["👍", 2],
  ["👍🏽", 2], // with a skin tone
  ["👩‍💻", 2], // ZWJ sequence
  ["🏳️‍🌈", 2],
  ["❤️", 2], // VS16 makes the emoji form
  ["❤", 1],
  ["🇨🇳", 2], // a flag: two regional indicators
  ["a\u200bb", 2], // zero-width space
  ["\x1b[31mred\x1b[39m", 3],
];

test("display width: wide characters two columns, marks, joiners and selectors none", () => {
  for (const [s, w] of CASES) assert.equal(visibleWidth(s), w, JSON.stringify(s));
  assert.equal(displayWidth("测试 127.0.0.1:5432 ✅"), 2 * 2 + 1 + 14 + 1 + 2);
  assert.equal(padColumns("数据", 6) + "|", "数据  |");
  assert.equal(padColumns("数据", 6, "right"), "  数据");
});

/**
 * The columns a terminal gives text, worked out here apart from obs's own measure (grapheme by
 * grapheme, by script and emoji properties), so the checks below do not take obs's word for it.
 */
const WIDE = /^(?:[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff01-\uff60\uffe0-\uffe6]|\p{Emoji_Presentation}|\p{Regional_Indicator}{2}|.\ufe0f)/u;
const NONE = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;
const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
function columns(s: string): number {
  let n = 0;
  // eslint-disable-next-line no-control-regex
  for (const { segment } of segmenter.segment(s.replace(/\x1b\[[0-9;]*m/g, ""))) n += NONE.test(segment) ? 0 : WIDE.test(segment) ? 2 : 1;
  return n;
}

test("the checks' own measure agrees with obs's on what the fixtures hold", () => {
  for (const [s, w] of CASES) assert.equal(columns(s), w, JSON.stringify(s));
});

/** A lone half of a surrogate pair: what a cut inside an emoji leaves. */
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

test("cutting and wrapping go between characters, never through a surrogate pair, a mark or an emoji sequence", () => {
  const texts = ["决定使用纯函数模块来实现用户注册接口", "👩‍💻👩‍💻👩‍💻👩‍💻 🇨🇳🇨🇳🇨🇳", "cafe\u0301 cafe\u0301 cafe\u0301 naïve", "エラー: データベースに接続できません 😢😢😢"];
  for (const text of texts) {
    const whole = clusters(text).map((c) => c.text);
    for (let max = 1; max <= columns(text) + 1; max++) {
      for (const f of [cut, cutAtWord]) {
        const s = f(text, max);
        assert.ok(columns(s) <= max, `${f.name}(${JSON.stringify(text)}, ${max}) = ${JSON.stringify(s)}: ${columns(s)} columns`);
        assert.doesNotMatch(s, LONE, `${f.name}(${JSON.stringify(text)}, ${max}) split a surrogate pair`);
        // What is kept is whole clusters of the text: the same start, cluster for cluster.
        const kept = clusters(s.replace(/ ?…$/, "")).map((c) => c.text);
        assert.deepEqual(kept, whole.slice(0, kept.length), `${f.name}(${JSON.stringify(text)}, ${max}) parted a character from its mark or sequence`);
      }
      assert.ok(columns(sliceColumns(text, max)) <= max);
      if (max < 2) continue;
      const lines = wrapWords(text, max);
      for (const l of lines) assert.ok(columns(l) <= max, `wrapWords(${JSON.stringify(text)}, ${max}): '${l}' is ${columns(l)} columns`);
      assert.equal(lines.join("").replace(/ /g, ""), text.replace(/ /g, ""), "wrapping leaves nothing out");
      assert.ok(lines.every((l) => !LONE.test(l)));
    }
  }
  assert.equal(cut("数据库连接失败", 7), "数据库…", "a wide character that does not fit whole is left out, not halved");
  assert.equal(cutAtWord("Lock acquired on database/migrations/012_users.sql", 40), "Lock acquired on database/migrations/…");
  assert.equal(cutAtWord("Aborted: agent-103-19 unresponsive for 9m", 30), "Aborted: agent-103-19 …", "a word cut keeps a space before the ellipsis: the id before it is whole");
});

test("a search snippet's lines fit in columns, the marks around a matched word counted", () => {
  const s = "连接被拒绝 \u0002ECONNREFUSED\u0003 127.0.0.1:5432 数据库没有启动，请检查 \u0002ECONNREFUSED\u0003 再试";
  for (const width of [20, 30, 44]) {
    const lines = renderSnippet(s, (w) => `*${w}*`, width);
    for (const l of lines) assert.ok(columns(l) <= width, `${width}: '${l}' is ${columns(l)} columns`);
    assert.ok(lines.every((l) => !LONE.test(l)));
  }
});

function io(width: number): IO {
  return { out: () => {}, err: () => {}, isTTY: true, errIsTTY: false, columns: width, color: false, env: {}, stdin: Readable.from([]) };
}

/** The terminal column at which `part` begins on `l`. */
const columnOf = (l: string, part: string) => {
  const i = l.indexOf(part);
  assert.ok(i >= 0, `'${part}' not on '${l}'`);
  return columns(l.slice(0, i));
};

test("a table with CJK and emoji cells fits 60 and 100 columns with its columns aligned", () => {
  type Row = { id: string; text: string; n: number };
  const rows: Row[] = [
    { id: "task-1", text: "数据库迁移：为用户表添加索引并更新所有查询以及相关的测试用例", n: 1 },
    { id: "task-22", text: "Read: テスト/登録.test.ts 🚀🚀🚀 ｆｕｌｌｗｉｄｔｈ and more text after it", n: 22 },
    { id: "task-333", text: "再次失败 ❤️ 🏳️‍🌈 👩‍💻 e\u0301", n: 333 },
    { id: "task-4444", text: "plain ASCII text that is long enough to be cut at sixty columns", n: 4444 },
  ];
  const table = [{ key: "id", header: "ID", keep: true }, { key: "text", header: "TEXT" }, { key: "n", header: "N", align: "right" as const }];
  for (const width of [60, 100]) {
    const lines = renderTable(rows, table, io(width)).split("\n");
    for (const l of lines) assert.ok(columns(l) <= width, `${width}: '${l}' is ${columns(l)} columns`);
    const [head, ...body] = lines;
    const textAt = columnOf(head!, "TEXT");
    const nEnds = columnOf(head!, " N") + 2;
    body.forEach((l, i) => {
      const r = rows[i]!;
      assert.equal(columnOf(l, r.text.slice(0, 2)), textAt, `${width}: TEXT of ${r.id} starts where its header does: '${l}'`);
      assert.equal(columnOf(l, ` ${r.n}`) + 1 + String(r.n).length, nEnds, `${width}: N of ${r.id} ends where its header does: '${l}'`);
      assert.ok(l.includes(r.id), "ids whole");
    });
  }
});

test("a header is never cut: a column keeps its header's widest word, and a header of more words wraps at its spaces", () => {
  const rows = [{ id: "task-0001", e: "boom", s: "a summary long enough to be cut" }];
  const table = [{ key: "id", header: "ID", keep: true }, { key: "e", header: "FIRST ERROR" }, { key: "s", header: "SUMMARY", min: 2 }];
  // 30 columns: 9 for the id, and of the 13 left FIRST ERROR gets 6 (its min, over FIRST's 5) and
  // SUMMARY 7: its min of 2 is raised to its header's width.
  const lines = renderTable(rows, table, io(30)).split("\n");
  assert.deepEqual(lines.slice(0, 2), [" ID          FIRST    SUMMARY", "             ERROR"]);
  // "a …" would leave most of the 7 columns empty: cut where it must be.
  assert.equal(lines[2], " task-0001   boom     a summ…");
  assert.equal(lines.length, 3);
  for (const l of lines) assert.ok(columns(l) <= 30, `'${l}'`);
  // Where the header fits it stays on one line.
  assert.deepEqual(renderTable(rows, table, io(100)).split("\n"), [" ID          FIRST ERROR   SUMMARY", " task-0001   boom          a summary long enough to be cut"]);
});

let db = "";
before(async () => {
  const x = "exec-wide";
  const a = { instance_id: "agent-wide-1", task_id: "task-wide-1" };
  const L = (s: number, kind: string, f: Record<string, unknown> = {}) => line(x, s, kind, f);
  db = await dbWith([
    L(0, "execution:status", { status: "started", task_list_id: "tl-wide" }),
    L(0, "task:status", { task_id: "task-wide-1", status: "pending", title: "数据库迁移：为用户表添加索引并更新所有查询", display_id: "T-1" }),
    L(1, "task:status", { ...a, status: "running" }),
    L(2, "transcript:entry", { ...a, entry_type: "decision", category: "planning", summary: "决定使用纯函数模块来实现用户注册接口，因为它最容易测试 ✅" }),
    L(3, "tool:start", { ...a, tool_use_id: "tu-wide-1", tool: "Bash", input: { command: "npx vitest run テスト/登録.test.ts 🚀🚀🚀 ｆｕｌｌｗｉｄｔｈ" } }),
    L(5, "tool:end", { ...a, tool_use_id: "tu-wide-1", is_error: true, output: "エラー: データベースに接続できません (ECONNREFUSED 127.0.0.1:5432) 👩‍💻👩‍💻" }),
    L(6, "transcript:entry", { ...a, entry_type: "error", category: "error", summary: "测试数据库拒绝连接 127.0.0.1:5432，请检查数据库是否已经启动 🇨🇳 e\u0301" }),
    L(7, "tool:start", { ...a, tool_use_id: "tu-wide-2", tool: "Bash", input: { command: "npx vitest run テスト/登録.test.ts 🚀🚀🚀 ｆｕｌｌｗｉｄｔｈ" } }),
    L(9, "tool:end", { ...a, tool_use_id: "tu-wide-2", is_error: true, output: "エラー: データベースに接続できません (ECONNREFUSED 127.0.0.1:5432) 👩‍💻👩‍💻" }),
    L(10, "transcript:entry", { ...a, entry_type: "error", category: "error", summary: "再次失败：数据库不可用 ❤️ 🏳️‍🌈" }),
    L(12, "task:status", { ...a, status: "failed" }),
    L(13, "execution:status", { status: "failed", message: "任务失败：数据库无法连接，所有测试均未运行 😢" }),
  ]);
});

test("Chinese and Japanese summaries: every command's lines fit 60 and 100 columns, ids whole, a timeline's columns aligned", () => {
  for (const width of [60, 100]) {
    for (const command of ["ls", "trace exec-wide", "trace task-wide-1", "trace task-wide-1 --tree", "errors exec-wide", "show tu-wide-1", "search ECONNREFUSED", "summary exec-wide", "anomalies exec-wide"]) {
      const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: String(width) } });
      assert.ok(r.code === 0 || r.code === 1, `${command}: ${r.stderr}`);
      for (const l of r.stdout.split("\n")) assert.ok(columns(l) <= width, `${command} at ${width}: ${columns(l)} columns: '${l}'`);
      assert.doesNotMatch(r.stdout, LONE, `${command} at ${width}: a surrogate pair split`);
      // An errors row's SOURCE was 'agent…' once the Japanese details had taken the room.
      assert.doesNotMatch(r.stdout, /\b(task|agent|tu|exec)(-[a-z0-9-]*)?…/, `${command} at ${width}: an id cut`);
    }
    const trace = spawnCli(["trace", "task-wide-1", "--db", db], { env: { COLUMNS: String(width) } }).stdout.split("\n");
    const head = trace.find((l) => l.startsWith(" TIME"))!;
    const rows = trace.filter((l) => /^ \d\d:\d\d:\d\d\.\d{3} /.test(l));
    assert.equal(rows.length, 5);
    for (const l of rows.filter((x) => / error$/.test(x))) assert.equal(columns(l.slice(0, l.lastIndexOf("error"))), columnOf(head, "STATUS"), `at ${width}, STATUS aligned: '${l}'`);
    for (const l of rows) assert.equal(columnOf(l, l.includes("tool_use") ? "tool_use" : l.includes("decision") ? "decision" : "error"), columnOf(head, "TYPE"), `at ${width}, TYPE aligned: '${l}'`);
  }
});
