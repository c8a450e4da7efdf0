import type { Statement } from "better-sqlite3";
import type { DB } from "./open.js";

/**
 * The full-text index behind `obs search`: one FTS5 table holding a document per searchable
 * thing — a transcript entry, a tool call (name, input, output, block reason), an error
 * message, a bus line, an assertion's description and evidence — with the execution and time
 * stored beside it so searches filter without leaving the index.
 *
 * How it is kept current, and why this way (each step measured on 200,000 bench lines, whose
 * ingest takes 3.5 s without search):
 *
 *   - Triggers that write FTS5 row by row make it flush at every statement: 9 s.
 *   - Any trigger at all on a table makes SQLite keep a statement journal for each insert into
 *     it, copying every index page the insert touches: 6.8 s even for a trigger that does
 *     nothing. obs writes a dozen indexed tables a line, so obs ingest must not fire triggers.
 *   - One INSERT … SELECT indexes at ~2 µs a document.
 *
 * So the triggers only note, in search_pending, which rows another producer inserted, updated
 * or deleted. obs ingest (SearchIndexer) drops them at the start of its write transaction and
 * creates them again before it commits — DDL is transactional, so no other connection ever
 * sees the schema without them — indexes the rows it added in bulk, re-indexes the rows it
 * updated and everything noted as pending, and empties the note. Between obs's writes a search
 * indexes the pending rows on the fly in a TEMP table (overlayPending), so nothing another
 * producer wrote is missed and the reader never writes the file.
 *
 * The triggers use only SQL that SQLite 3.9+ understands: a trigger another producer's older
 * SQLite cannot run would make that producer's inserts fail.
 *
 * Chinese, Japanese and Korean are written without spaces between words, and unicode61 keeps a
 * run of letters as one token, so a word inside a run could never match. FTS5 takes no tokenizer
 * from JavaScript, so the text is cut before the tokenizer sees it: obs's connections get a SQL
 * function (CJK_SPLIT) that puts U+200B, a separator to unicode61 (category Cf), on each side of
 * every CJK character that touches another letter, making each such character a token; a search
 * turns a CJK word into the phrase of its characters the same way (splitCjk). The function lives
 * only in obs's connections, so the bulk INSERT … SELECT and the overlay use it and the triggers
 * never do: another producer's SQLite does not have it. Snippets have the U+200B taken out.
 *
 * A document's rowid is its source row's rowid × 8 + its source code, so a change finds its
 * document directly. Those rowids are stable in practice (VACUUM copies them for tables with
 * indexes) but SQLite does not promise it; the search joins back on both rowid and id, so a
 * moved row shows as missing rather than as another row's text, and `obs search --reindex`
 * rebuilds everything.
 */

export const SEARCH_TABLE = "search_fts";

/** The SQL function that cuts CJK text into a token a character, on obs's connections only. */
export const CJK_SPLIT = "obs_cjk_split";

/** From this schema version on, the index holds CJK text cut into characters (migration 7 rebuilt it). */
export const CJK_INDEX_VERSION = 7;

/** The separator put between characters: invisible, and not a letter to unicode61 (category Cf). */
export const CJK_SEPARATOR = "\u200b";

/**
 * CJK scripts: Han ideographs (every extension, compatibility forms), Hiragana, Katakana (with the
 * half-width forms) and Hangul. Script rather than block, so the ideographs of later Unicode
 * versions come with the runtime's tables.
 */
const CJK = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}`;
const HAS_CJK = new RegExp(`[${CJK}]`, "u");
/**
 * Where a CJK character may begin: every one is at U+1100 or above (astral ones as surrogates).
 * Looked for rather than HAS_CJK, which V8 runs at some 0.15 µs a character over text that is
 * not Latin-1 (a line of 300 characters ending in Chinese took 50 µs; this finds it in 2).
 */
const MAYBE_CJK = /[\u1100-\uffff]/;
const IS_CJK = new RegExp(`^[${CJK}]$`, "u");
/**
 * What unicode61 keeps in a token (its default categories, with marks): letters (full-width Latin
 * included), digits (full-width ones too), marks, private use. A cut goes only between two of
 * these of which one is CJK, so `用MySQL数据库` gives 用 · mysql · 数 · 据 · 库 (a Latin word
 * inside CJK text is found too) and punctuation or spaces, already separators, get none.
 */
const IS_JOINED = /^[\p{L}\p{N}\p{M}\p{Co}]$/u;

/** A character's class: CJK, joined (both for an ideograph), and known (learnt already). */
const CJK_CHAR = 1;
const JOINED_CHAR = 2;
const KNOWN = 4;
/** The classes of the characters met so far, learnt once each: a text has few distinct ones. */
const bmpClasses = new Uint8Array(0x10000);
const astralClasses = new Map<number, number>();

function learn(cp: number): number {
  const ch = String.fromCodePoint(cp);
  return KNOWN | (IS_CJK.test(ch) ? CJK_CHAR : 0) | (IS_JOINED.test(ch) ? JOINED_CHAR : 0);
}

function classOf(cp: number): number {
  if (cp < 0x80) return (cp >= 0x30 && cp <= 0x39) || ((cp | 0x20) >= 0x61 && (cp | 0x20) <= 0x7a) ? JOINED_CHAR : 0;
  if (cp <= 0xffff) return bmpClasses[cp] || (bmpClasses[cp] = learn(cp));
  let c = astralClasses.get(cp);
  if (c === undefined) astralClasses.set(cp, (c = learn(cp)));
  return c;
}

/**
 * The cut text is written as UTF-16 code units and decoded at once: building it by string
 * concatenation, a piece a character in CJK text, took several times as long, and one replace()
 * with lookarounds ten times. The buffer is kept for the next text unless it grew large.
 */
const utf16 = new TextDecoder("utf-16le", { ignoreBOM: true });
const KEEP_UNITS = 1 << 16;
let units = new Uint16Array(1024);

export function hasCjk(text: string): boolean {
  return HAS_CJK.test(text);
}

/**
 * The text with a separator at each boundary unicode61 would not cut and a CJK character touches;
 * text without CJK comes back as it is (one scan by a regular expression, no copy; Latin-1 text
 * V8 rules out without reading it). Cutting twice changes nothing more.
 */
export function splitCjk(text: string): string {
  const start = text.search(MAYBE_CJK);
  if (start < 0) return text;
  // What comes before is below U+1100, so neither CJK nor a surrogate: only its last character
  // can be cut from what follows, and the rest is kept as it is.
  const rest = text.length - start;
  const out = rest * 2 <= units.length ? units : new Uint16Array(rest * 2);
  if (out.length <= KEEP_UNITS) units = out;
  let n = 0;
  let cuts = 0;
  let before = start > 0 ? classOf(text.charCodeAt(start - 1)) : 0;
  for (let i = start; i < text.length; ) {
    const unit = text.charCodeAt(i);
    const low = unit >= 0xd800 && unit <= 0xdbff ? text.charCodeAt(i + 1) : NaN;
    const pair = low >= 0xdc00 && low <= 0xdfff;
    const c = classOf(pair ? ((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000 : unit);
    if (before & c & JOINED_CHAR && (before | c) & CJK_CHAR) {
      out[n++] = CJK_SEPARATOR.charCodeAt(0);
      cuts++;
    }
    out[n++] = unit;
    if (pair) out[n++] = low;
    before = c;
    i += pair ? 2 : 1;
  }
  return cuts ? text.slice(0, start) + utf16.decode(out.subarray(0, n)) : text;
}

const withSplit = new WeakSet<DB>();

/** Gives the connection CJK_SPLIT, which statements naming it need before they are prepared. */
export function registerCjkSplit(db: DB): void {
  if (withSplit.has(db)) return;
  db.function(CJK_SPLIT, { deterministic: true }, (t: unknown) => (typeof t === "string" ? splitCjk(t) : t));
  withSplit.add(db);
}

/** One kind of document: which rows make it, and how its text, kind, execution and time are read from a row. */
interface DocSource {
  code: number;
  table: string;
  /** Only rows for which this holds are documents (an expression over the row). */
  when: (r: string) => string;
  kind: (r: string) => string;
  body: (r: string) => string;
  execution: (r: string) => string;
  time: (r: string) => string;
  /** Columns whose change re-indexes the row: every column the expressions read, besides id. */
  watched: string[];
}

const text = (...parts: string[]) => parts.map((p) => `COALESCE(${p}, '')`).join(` || ' ' || `);

/**
 * Tool-use entries and assertion entries are left out: their tool call and assertion result
 * are indexed with more text (input and output, evidence), and one event should be one hit.
 */
export const DOC_SOURCES: readonly DocSource[] = [
  {
    code: 1,
    table: "transcript_entries",
    when: (r) => `${r}.entry_type NOT IN ('tool_use', 'assertion')`,
    kind: (r) => `CASE ${r}.entry_type WHEN 'error' THEN 'error' ELSE 'entry' END`,
    body: (r) => text(`${r}.summary`, `${r}.details`),
    execution: (r) => `${r}.execution_id`,
    time: (r) => `${r}.timestamp`,
    watched: ["entry_type", "summary", "details", "execution_id", "timestamp"],
  },
  {
    code: 2,
    table: "tool_uses",
    when: () => `1`,
    kind: () => `'tool'`,
    body: (r) => text(`${r}.tool`, `COALESCE(${r}.input, ${r}.input_summary)`, `COALESCE(${r}.output, ${r}.output_summary)`, `${r}.block_reason`),
    execution: (r) => `${r}.execution_id`,
    time: (r) => `${r}.start_time`,
    watched: ["tool", "input", "input_summary", "output", "output_summary", "block_reason", "execution_id", "start_time"],
  },
  {
    code: 3,
    table: "tool_uses",
    when: (r) => `${r}.error_message IS NOT NULL AND ${r}.error_message <> ''`,
    kind: () => `'error'`,
    body: (r) => `${r}.error_message`,
    execution: (r) => `${r}.execution_id`,
    time: (r) => `COALESCE(${r}.end_time, ${r}.start_time)`,
    watched: ["error_message", "execution_id", "start_time", "end_time"],
  },
  {
    code: 4,
    table: "message_bus_log",
    when: () => `1`,
    kind: () => `'bus'`,
    body: (r) => text(`${r}.event_type`, `${r}.human_summary`),
    execution: (r) => `${r}.execution_id`,
    time: (r) => `${r}.timestamp`,
    watched: ["event_type", "human_summary", "execution_id", "timestamp"],
  },
  {
    code: 5,
    table: "assertion_results",
    when: () => `1`,
    kind: () => `'assertion'`,
    body: (r) => text(`${r}.description`, `${r}.evidence`),
    execution: (r) => `${r}.execution_id`,
    time: (r) => `${r}.timestamp`,
    watched: ["description", "evidence", "execution_id", "timestamp"],
  },
  {
    code: 6,
    table: "skill_traces",
    when: (r) => `${r}.error_message IS NOT NULL AND ${r}.error_message <> ''`,
    kind: () => `'error'`,
    body: (r) => text(`${r}.skill_name`, `${r}.error_message`),
    execution: (r) => `${r}.execution_id`,
    time: (r) => `COALESCE(${r}.end_time, ${r}.start_time)`,
    watched: ["skill_name", "error_message", "execution_id", "start_time", "end_time"],
  },
  {
    code: 7,
    table: "build_agent_instances",
    when: (r) => `${r}.error_message IS NOT NULL AND ${r}.error_message <> ''`,
    kind: () => `'error'`,
    body: (r) => `${r}.error_message`,
    execution: (r) => `${r}.execution_id`,
    time: (r) => `COALESCE(${r}.completed_at, ${r}.last_heartbeat_at, ${r}.spawned_at)`,
    watched: ["error_message", "execution_id", "completed_at", "last_heartbeat_at", "spawned_at"],
  },
];

/** The kinds a search can be narrowed to (`--type`). */
export const SEARCH_KINDS = ["entry", "tool", "error", "bus", "assertion"] as const;

/** A document's text as the index holds it: CJK cut into characters. */
const indexedBody = (s: DocSource, r: string) => `${CJK_SPLIT}(${s.body(r)})`;

function insertDoc(s: DocSource, r: string, into = SEARCH_TABLE): string {
  return `INSERT OR REPLACE INTO ${into} (rowid, body, kind, ref, execution_id, ts)
          SELECT ${r}.rowid * 8 + ${s.code}, ${indexedBody(s, r)}, ${s.kind(r)}, ${r}.id, ${s.execution(r)}, ${s.time(r)}`;
}

/**
 * The sources this database can feed: a table another producer created without some column
 * (or not at all) is left out, because a trigger naming a missing column would fail every
 * insert into that table, not only the indexing.
 */
function usableSources(db: DB): DocSource[] {
  const columns = (table: string) => new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name));
  return DOC_SOURCES.filter((s) => {
    const have = columns(s.table);
    return have.has("id") && s.watched.every((c) => have.has(c));
  });
}

/** UNINDEXED columns are stored, not tokenised: they filter and label hits. */
const indexTableSql = (name: string) => `CREATE VIRTUAL TABLE IF NOT EXISTS ${name} USING fts5(
  body, kind UNINDEXED, ref UNINDEXED, execution_id UNINDEXED, ts UNINDEXED,
  tokenize = 'porter unicode61 remove_diacritics 2'
)`;

const TRIGGER_KINDS = ["insert", "update", "delete"] as const;

/** The triggers that note other producers' changes in search_pending. */
function createTriggers(db: DB, sources: readonly DocSource[]): void {
  for (const table of new Set(sources.map((s) => s.table))) {
    const mine = sources.filter((s) => s.table === table);
    const changed = [...new Set(mine.flatMap((s) => s.watched))].map((c) => `OLD.${c} IS NOT NEW.${c}`).join(" OR ");
    // Conflict clauses inside a trigger yield to those of the statement that fired it (an
    // upsert's), so a note is guarded by NOT EXISTS rather than OR IGNORE.
    const note = (r: string) => `INSERT INTO search_pending (source_table, source_rowid) SELECT '${table}', ${r}.rowid
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE source_table = '${table}' AND source_rowid = ${r}.rowid);`;
    db.exec(`
      CREATE TRIGGER IF NOT EXISTS tr_search_${table}_insert AFTER INSERT ON ${table}
      BEGIN
        ${note("NEW")}
      END;
      CREATE TRIGGER IF NOT EXISTS tr_search_${table}_update AFTER UPDATE ON ${table}
      WHEN ${changed} OR OLD.rowid IS NOT NEW.rowid
      BEGIN
        ${note("OLD")}
        ${note("NEW")}
      END;
      CREATE TRIGGER IF NOT EXISTS tr_search_${table}_delete AFTER DELETE ON ${table}
      BEGIN
        ${note("OLD")}
      END;`);
  }
}

/**
 * Creates the index, the pending-rows note and the triggers. Names are constants, never input.
 * The index is tuned for ingest's bulk inserts (measured on the bench's 463,000 documents:
 * 2.5 s → 1.9 s): pending terms held in memory up to 16 MiB before a segment is written, eight
 * segments a level before they are merged, and index pages sized to the file's pages.
 */
export function createSearchIndex(db: DB): void {
  // FTS5's own default is a 4 KiB page's worth less a little; the same margin on this file's pages.
  const pgsz = (db.pragma("page_size", { simple: true }) as number) - 46;
  db.exec(`${indexTableSql(SEARCH_TABLE)};
    INSERT INTO ${SEARCH_TABLE} (${SEARCH_TABLE}, rank) VALUES ('hashsize', 16777216);
    INSERT INTO ${SEARCH_TABLE} (${SEARCH_TABLE}, rank) VALUES ('automerge', 8);
    INSERT INTO ${SEARCH_TABLE} (${SEARCH_TABLE}, rank) VALUES ('pgsz', ${pgsz});
    CREATE TABLE IF NOT EXISTS search_pending (
      source_table TEXT    NOT NULL,
      source_rowid INTEGER NOT NULL,
      PRIMARY KEY (source_table, source_rowid)
    ) WITHOUT ROWID;`);
  createTriggers(db, usableSources(db));
}

/** Indexes every existing row (the migration for databases written before search, and --reindex). */
export function fillSearchIndex(db: DB): number {
  registerCjkSplit(db);
  let n = 0;
  for (const s of usableSources(db)) {
    n += db.prepare(`${insertDoc(s, "r")} FROM ${s.table} AS r WHERE ${s.when("r")}`).run().changes;
  }
  return n;
}

/**
 * Builds the index again from the source tables, in one transaction. Dropping the table is far
 * cheaper than deleting its rows one by one.
 */
export function reindexSearch(db: DB): number {
  return db.transaction(() => rebuildSearchIndex(db)).immediate();
}

/** reindexSearch's work, inside a transaction the caller holds (a migration's). */
export function rebuildSearchIndex(db: DB): number {
  db.exec(`DROP TABLE IF EXISTS ${SEARCH_TABLE}`);
  createSearchIndex(db);
  db.exec(`DELETE FROM search_pending`);
  return fillSearchIndex(db);
}

/** The rows of `table` noted in search_pending, as a subquery. */
const pendingRows = (table: string) => `(SELECT source_rowid FROM search_pending WHERE source_table = '${table}')`;

/**
 * obs's side of the index, inside one write transaction. begin() drops the triggers (see the top
 * of this file) and notes where each source table ends; updated() is told of each row obs
 * updated rather than inserted; finish(), before the commit, indexes the rows added since
 * begin() in one statement per kind of document, re-indexes (or drops) the updated rows and
 * those other producers changed, empties the note and creates the triggers again. finish()
 * alone (prune) only folds in what the triggers noted.
 */
export class SearchIndexer {
  private readonly sources: DocSource[];
  private readonly tables: { table: string; max: Statement; mark: number; updated: Set<string>; notePending: Statement[] }[] = [];
  private readonly docs: { table: string; dropPending: Statement; indexPending: Statement; indexAdded: Statement }[] = [];
  private readonly clearPending: Statement;
  private begun = false;

  constructor(private readonly db: DB) {
    registerCjkSplit(db);
    this.sources = usableSources(db);
    for (const table of new Set(this.sources.map((s) => s.table))) {
      this.tables.push({
        table,
        max: db.prepare(`SELECT COALESCE(MAX(rowid), 0) AS n FROM ${table}`),
        mark: 0,
        updated: new Set(),
        // An updated row is pending only when its document would change: adapters re-read
        // whole session files, and most of what they write again is what was there.
        notePending: this.sources.filter((s) => s.table === table).map((s) => db.prepare(`
          INSERT OR IGNORE INTO search_pending (source_table, source_rowid)
          SELECT '${table}', r.rowid
            FROM ${table} AS r
           WHERE r.id IN (SELECT value FROM json_each(@ids))
             AND r.rowid <= @mark
             AND (${s.when("r")}) IS NOT EXISTS (
                   SELECT 1 FROM ${SEARCH_TABLE} AS f
                    WHERE f.rowid = r.rowid * 8 + ${s.code}
                      AND f.body = ${indexedBody(s, "r")} AND f.kind = ${s.kind("r")}
                      AND f.execution_id IS ${s.execution("r")} AND f.ts IS ${s.time("r")})`)),
      });
    }
    for (const s of this.sources) {
      this.docs.push({
        table: s.table,
        dropPending: db.prepare(`DELETE FROM ${SEARCH_TABLE} WHERE rowid IN (SELECT source_rowid * 8 + ${s.code} FROM ${pendingRows(s.table)})`),
        indexPending: db.prepare(`${insertDoc(s, "r")} FROM ${s.table} AS r WHERE r.rowid IN ${pendingRows(s.table)} AND ${s.when("r")}`),
        indexAdded: db.prepare(`${insertDoc(s, "r")} FROM ${s.table} AS r WHERE r.rowid > @mark AND ${s.when("r")}`),
      });
    }
    this.clearPending = db.prepare(`DELETE FROM search_pending`);
  }

  begin(): void {
    for (const t of this.tables) {
      for (const k of TRIGGER_KINDS) this.db.exec(`DROP TRIGGER IF EXISTS tr_search_${t.table}_${k}`);
      t.mark = (t.max.get() as { n: number }).n;
      t.updated.clear();
    }
    this.begun = true;
  }

  /** A row of `table` that obs updated: re-indexed at finish() if it existed before begin(). */
  updated(table: string, id: string): void {
    this.tables.find((t) => t.table === table)?.updated.add(id);
  }

  finish(): void {
    for (const t of this.tables) {
      if (t.updated.size) for (const st of t.notePending) st.run({ ids: JSON.stringify([...t.updated]), mark: t.mark });
      t.updated.clear();
    }
    for (const d of this.docs) {
      d.dropPending.run();
      d.indexPending.run();
      if (this.begun) d.indexAdded.run({ mark: this.tables.find((t) => t.table === d.table)!.mark });
    }
    this.clearPending.run();
    if (this.begun) createTriggers(this.db, this.sources);
    this.begun = false;
  }
}

/**
 * For a reader: indexes the rows noted as pending into a TEMP table of the index's shape
 * (temp objects live outside the file, so a read-only connection may make them), which the
 * search reads beside the index. Returns how many rows were pending.
 */
export function overlayPending(db: DB): number {
  db.exec(`DROP TABLE IF EXISTS temp.search_overlay; ${indexTableSql("temp.search_overlay")}`);
  const pending = db.prepare(`SELECT COUNT(*) AS n FROM search_pending`).get() as { n: number };
  if (pending.n === 0) return 0;
  registerCjkSplit(db);
  for (const s of usableSources(db)) {
    db.prepare(`${insertDoc(s, "r", "temp.search_overlay")} FROM ${s.table} AS r WHERE r.rowid IN ${pendingRows(s.table)} AND ${s.when("r")}`).run();
  }
  return pending.n;
}
