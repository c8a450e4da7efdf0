/**
 * What cutting CJK text into characters (src/db/search.ts, CJK_SPLIT) costs the search index:
 * the same documents indexed by one INSERT … SELECT, as SearchIndexer does, with the text as it
 * is and through the function, into an index made as obs makes it. The documents are the bench's
 * own (the demo's lines, English: the function's common case, text it gives back untouched), then
 * the same with a Chinese, Japanese or Korean sentence in every fourth one. Beside them, the text
 * cut beforehand and indexed as it is: what FTS5 itself spends on the more tokens cut text makes,
 * which the function's own cost is the rest of.
 *
 *   node dist/bench/search-index.js [--docs 200000] [--rounds 3]
 *
 * CPU time of this process (user + system), each variant `rounds` times in turn; the ratio is of
 * the medians. Not a target: a figure to keep in view.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateDemo } from "../src/demo/generate.js";
import { Database, type DB } from "../src/db/open.js";
import { CJK_SPLIT, createSearchIndex, registerCjkSplit, SEARCH_TABLE, splitCjk } from "../src/db/search.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const DOCS = arg("--docs", 200_000);
const ROUNDS = arg("--rounds", 3);

const CJK_SENTENCES = ["数据库连接失败，请检查配置", "我们的数据库是什么？", "テストが失敗しました：データベースに接続できません", "用MySQL数据库存储会话", "데이터베이스 연결에 실패했습니다"];

/** DOCS texts: the demo's lines over and over, each with its number so that no two are the same. */
function texts(withCjk: boolean): string[] {
  const lines = generateDemo({ runs: 1, scale: 20, firstRun: 1 }).flatMap((r) => r.lines);
  return Array.from({ length: DOCS }, (_, i) => `${lines[i % lines.length]} #${i}` + (withCjk && i % 4 === 0 ? ` ${CJK_SENTENCES[i % CJK_SENTENCES.length]}` : ""));
}

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Seconds of CPU to index the documents of `src` into a new index, the text through `body`. */
function index(db: DB, body: string): number {
  db.exec(`DROP TABLE IF EXISTS ${SEARCH_TABLE}`);
  createSearchIndex(db);
  const t0 = cpu();
  db.transaction(() => db.prepare(`INSERT INTO ${SEARCH_TABLE} (rowid, body, kind, ref, execution_id, ts) SELECT rowid, ${body}, 'entry', id, 'e', '' FROM src`).run())();
  return cpu() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "obs-bench-search-"));
try {
  for (const withCjk of [false, true]) {
    const file = path.join(dir, `index-${withCjk}.db`);
    const db = new Database(file);
    db.pragma("page_size = 16384");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(`CREATE TABLE src (id TEXT PRIMARY KEY, body TEXT, cut TEXT)`);
    const ins = db.prepare(`INSERT INTO src (id, body, cut) VALUES (?, ?, ?)`);
    const docs = texts(withCjk);
    db.transaction(() => docs.forEach((t, i) => ins.run(`doc-${i}`, t, splitCjk(t))))();
    registerCjkSplit(db);
    const plain: number[] = [];
    const split: number[] = [];
    const cut: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plain.push(index(db, "body"));
      split.push(index(db, `${CJK_SPLIT}(body)`));
      if (withCjk) cut.push(index(db, "cut"));
    }
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} s`;
    console.log(
      `${docs.length.toLocaleString("en-US")} documents${withCjk ? ", a quarter with CJK" : ", no CJK"}: ` +
        `as they are ${range(plain)}, through ${CJK_SPLIT} ${range(split)}; ratio ${(median(split) / median(plain)).toFixed(2)}×` +
        (withCjk ? ` (cut beforehand: ${range(cut)}, ${(median(cut) / median(plain)).toFixed(2)}×)` : ""),
    );
    db.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
