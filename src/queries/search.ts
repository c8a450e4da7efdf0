import type { DB } from "../db/open.js";
import { CJK_SEPARATOR, DOC_SOURCES, overlayPending, splitCjk } from "../db/search.js";
import { UserError } from "../errors.js";
import { runQuery } from "./run.js";
import type { Query } from "./types.js";

export interface SearchRow {
  rank: number;
  kind: string;
  execution_id: string | null;
  task_id: string | null;
  agent: string | null;
  time: string | null;
  /** What the hit is: the entry type, tool, event type, assertion category, skill or "agent". */
  what: string | null;
  /** The source row: its table and id. */
  table: string;
  id: string;
  /** The best passage, matched words between \u0002 and \u0003. */
  snippet: string;
}

/** The source table of a document rowid (rowid × 8 + code), from the index's own list of sources. */
const tableOf = (doc: string) => `CASE ${doc} & 7 ${DOC_SOURCES.map((d) => `WHEN ${d.code} THEN '${d.table}'`).join(" ")} END`;

// The index's text carries the separators that cut CJK into characters; a person never sees them.
const snippetOf = (table: string) =>
  `(SELECT replace(snippet(${table}, 0, char(2), char(3), '…', 24), char(${CJK_SEPARATOR.codePointAt(0)}), '') FROM ${table} WHERE ${table} MATCH @match AND rowid = top.doc)`;

/**
 * `obs search`: ranked full-text hits with their execution, task, agent, time and kind. It
 * reads temp.search_overlay, the rows other producers changed since obs last wrote, whose
 * documents in the index are stale or missing: run it through search(), which fills that first.
 */
export const S001: Query<SearchRow> = {
  id: "S001",
  family: "Search",
  title: "Full-text search",
  description: "Entries, tool calls, error messages, bus lines and assertion evidence matching the words, best first.",
  arg: "none",
  needs: { search_fts: ["body", "kind", "ref", "execution_id", "ts"], search_pending: ["source_table", "source_rowid"] },
  optional: {
    transcript_entries: ["id", "task_id", "instance_id", "entry_type"],
    tool_uses: ["id", "task_id", "tool", "transcript_entry_id"],
    message_bus_log: ["id", "task_id", "event_type", "transcript_entry_id"],
    assertion_results: ["id", "task_id", "category", "transcript_entry_id"],
    skill_traces: ["id", "task_id", "instance_id", "skill_name"],
    build_agent_instances: ["id", "execution_id", "task_id", "spawned_at"],
  },
  sql: `
    -- Every matching document: from the index, less those whose row changed since obs last
    -- wrote (rarely any, so the check is skipped when nothing is pending), and from the overlay.
    WITH matches AS (
      SELECT rowid AS doc, rank, 0 AS overlay, kind, ref, execution_id, ts
        FROM search_fts
       WHERE search_fts MATCH @match
         AND (NOT EXISTS (SELECT 1 FROM search_pending)
              OR NOT EXISTS (SELECT 1 FROM search_pending p
                              WHERE p.source_table = ${tableOf("search_fts.rowid")} AND p.source_rowid = search_fts.rowid >> 3))
       UNION ALL
      SELECT rowid, rank, 1, kind, ref, execution_id, ts
        FROM search_overlay
       WHERE search_overlay MATCH @match
    ),
    -- The best @limit (bm25; newest first among equals) within the execution, kind and time asked.
    top AS (
      SELECT *
        FROM matches
       WHERE (@execution_id IS NULL OR execution_id = @execution_id)
         AND (@kind         IS NULL OR kind = @kind)
         AND (@since        IS NULL OR ts >= @since)
         AND (@until        IS NULL OR ts <  @until)
       ORDER BY rank, doc DESC
       LIMIT @limit
    ),
    -- Each hit joined back to its source row by rowid and id, for its task, agent and label
    -- (a row whose rowid moved under a VACUUM drops out rather than showing another's text).
    hit AS (
      SELECT top.doc, top.rank, top.kind, top.execution_id, top.ts AS time, top.ref AS id,
             ${tableOf("top.doc")} AS source_table,
             CASE top.overlay WHEN 0 THEN ${snippetOf("search_fts")} ELSE ${snippetOf("search_overlay")} END AS snippet,
             COALESCE(e.task_id, t.task_id, b.task_id, a.task_id, s.task_id, g.task_id)                   AS task_id,
             COALESCE(e.instance_id, te.instance_id, be.instance_id, ae.instance_id, s.instance_id, g.id) AS agent,
             COALESCE(e.entry_type, t.tool, b.event_type, a.category, s.skill_name,
                      CASE WHEN g.id IS NOT NULL THEN 'agent' END)                                        AS what,
             COALESCE(e.id, t.id, b.id, a.id, s.id, g.id)                                                AS source_id
        FROM top
        LEFT JOIN transcript_entries e    ON top.doc & 7 = 1       AND e.rowid = top.doc >> 3 AND e.id = top.ref
        LEFT JOIN tool_uses t             ON top.doc & 7 IN (2, 3) AND t.rowid = top.doc >> 3 AND t.id = top.ref
        LEFT JOIN message_bus_log b       ON top.doc & 7 = 4       AND b.rowid = top.doc >> 3 AND b.id = top.ref
        LEFT JOIN assertion_results a     ON top.doc & 7 = 5       AND a.rowid = top.doc >> 3 AND a.id = top.ref
        LEFT JOIN skill_traces s          ON top.doc & 7 = 6       AND s.rowid = top.doc >> 3 AND s.id = top.ref
        LEFT JOIN build_agent_instances g ON top.doc & 7 = 7       AND g.rowid = top.doc >> 3 AND g.id = top.ref
        LEFT JOIN transcript_entries te   ON te.id = t.transcript_entry_id
        LEFT JOIN transcript_entries be   ON be.id = b.transcript_entry_id
        LEFT JOIN transcript_entries ae   ON ae.id = a.transcript_entry_id
    )
    SELECT hit.rank, hit.kind, hit.execution_id, hit.task_id,
           -- Rows that do not name their agent get the one that ran their task.
           COALESCE(hit.agent, (SELECT ag.id FROM build_agent_instances ag
                                 WHERE ag.execution_id = hit.execution_id AND ag.task_id = hit.task_id
                                 ORDER BY ag.spawned_at DESC LIMIT 1)) AS agent,
           hit.time, hit.what, hit.source_table AS "table", hit.id, hit.snippet
      FROM hit
     WHERE hit.source_id IS NOT NULL
     ORDER BY hit.rank, hit.doc DESC`,
};

export interface SearchParams {
  /** An FTS5 expression (matchExpression). */
  match: string;
  execution_id: string | null;
  kind: string | null;
  since: string | null;
  until: string | null;
  /** -1 for every hit. */
  limit: number;
}

/** S001 as it must run: the overlay of pending rows made first. Also says how many rows were pending. */
export function search(db: DB, params: SearchParams): { rows: SearchRow[]; pending: number } {
  const pending = overlayPending(db);
  return { rows: runQuery(db, S001, { ...params }).rows, pending };
}

/**
 * Turns what a person typed into an FTS5 expression: every word must appear, "quoted words"
 * must appear together, and a word ending in * matches as a prefix. Everything else is quoted,
 * so text pasted from an error (colons, dots, slashes, parentheses) is searched, never parsed
 * as FTS5 syntax. `raw` passes an FTS5 expression through (AND, OR, NOT, NEAR, prefixes).
 * Either way CJK text is cut into characters as the index's is, so a CJK word is the phrase of
 * its characters, found inside a longer run (`数据库` in 数据库连接失败); cutting only puts a
 * separator inside a word or quoted string, never next to FTS5's own syntax, which is ASCII.
 */
export function matchExpression(input: string, raw = false): string {
  if (raw) {
    if (!input.trim()) throw new UserError("nothing to search for", ["give words to find, e.g. obs search ECONNREFUSED"]);
    return splitCjk(input);
  }
  const terms: string[] = [];
  for (const m of input.matchAll(/"([^"]*)"?|(\S+)/g)) {
    const phrase = m[1] !== undefined;
    let word = (phrase ? m[1] : m[2])!.trim();
    if (!word) continue;
    const prefix = !phrase && word.length > 1 && word.endsWith("*");
    if (prefix) word = word.slice(0, -1);
    // A term must hold at least one letter or digit: FTS5 finds nothing for punctuation alone.
    if (!/[\p{L}\p{N}]/u.test(word)) continue;
    terms.push(`"${splitCjk(word).replace(/"/g, '""')}"${prefix ? "*" : ""}`);
  }
  if (!terms.length) {
    throw new UserError(`nothing to search for in '${input}'`, ["search needs at least one word of letters or digits, e.g. obs search ECONNREFUSED"]);
  }
  return terms.join(" ");
}
