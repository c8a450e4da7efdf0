import crypto from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { DB } from "../db/open.js";
import type { ObsEvent } from "./events.js";
import { appendOutput, oneLine, payloadJson, summariseInput, summariseOutput, toolCategory } from "./shape.js";

/**
 * Folds validated events into the tables of schema.md. Each event upserts what it knows, so
 * lines about one thing may arrive in any order; values that depend on several lines (chain
 * counts, a skill's tool calls) are recomputed from the rows in finish(), not counted up.
 * Nothing is repaired: gaps, orphans and end-before-start are stored as they came.
 *
 * Identity (docs/events.md): a producer's id names a row within its execution. The first
 * execution to use an id holds it as it is; the same id in another execution (a resumed, forked
 * or copied session) names a row of its own, `<id>@<execution>`, so no execution ever loses a
 * row to another. Rows that several executions share by producer id (or model calls by
 * response id) are one thing recorded more than once: the execution that started first owns it
 * (ties: the one recorded first) and the others carry it with replay_of naming the owner, so
 * every total counts it once. A transcript entry without an id is known by its execution and
 * its content: the k-th identical line of an execution is the same entry however it is read.
 */

/** Tables whose rows carry producer ids, with the column that names their execution. */
const OWNED = {
  transcript_entries: "execution_id",
  tool_uses: "execution_id",
  skill_traces: "execution_id",
  assertion_chains: "execution_id",
  assertion_results: "execution_id",
  events: "execution_id",
  llm_calls: "execution_id",
  tasks: "execution_id",
  parallel_execution_waves: "execution_run_id",
  build_agent_instances: "execution_id",
} as const;
type Owned = keyof typeof OWNED;

/** Tables whose shared rows are marked as replays (the ones totals and traces count). */
const REPLAYABLE = ["transcript_entries", "tool_uses", "tasks"] as const;

/** The content part of an id-less entry's id: 128 bits of the line's SHA-256, URL-safe. */
function contentHash(line: string): string {
  return crypto.hash("sha256", line, "base64url").slice(0, 22);
}

/** Where an id-less line's earlier occurrences may be, when a source is read on from an offset. */
export interface Prefix {
  /** Counts the lines of the part read before that are identical to `line` (both trimmed). */
  count(line: string): number;
}

export interface FolderOptions {
  /** Hears of each indexed row that a statement updated rather than inserted (for the search index). */
  updated?: (table: string, id: string) => void;
  /** Set when the source is read on from where an earlier ingest stopped. */
  prefix?: Prefix;
  /** Copy each bus event into message_bus_log, as the file's trigger does when it is not dropped. */
  logEvents?: boolean;
}

const DURATION = (end: string, start: string) =>
  `CAST(ROUND((julianday(${end}) - julianday(${start})) * 86400000) AS INTEGER)`;

const TERMINAL_AGENT = new Set(["completed", "failed", "terminated"]);

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) ? v : null);
const flag = (v: unknown): number => (v === true || v === 1 ? 1 : 0);

interface Ctx {
  execution_id: string;
  task_id: string | null;
  wave_id: string | null;
  timestamp: string;
}

/** What a batch has learnt of one tool call; null means "not said in this batch". */
interface ToolAcc {
  id: string;
  execution_id: string | null;
  task_id: string | null;
  transcript_entry_id: string | null;
  tool: string | null;
  tool_category: string | null;
  input: string | null;
  input_summary: string | null;
  result_status: string | null;
  output: string | null;
  output_summary: string | null;
  is_error: number | null;
  is_blocked: number | null;
  block_reason: string | null;
  error_message: string | null;
  start_time: string | null;
  end_time: string | null;
  within_skill: string | null;
  parent_tool_use_id: string | null;
  wave_id: string | null;
}

function newAcc(id: string): ToolAcc {
  return {
    id, execution_id: null, task_id: null, transcript_entry_id: null, tool: null, tool_category: null, input: null,
    input_summary: null, result_status: null, output: null, output_summary: null, is_error: null, is_blocked: null,
    block_reason: null, error_message: null, start_time: null, end_time: null, within_skill: null,
    parent_tool_use_id: null, wave_id: null,
  };
}

/** end − start in ms, as the SQL computes it for rows folded across batches. */
function msBetween(start: string, end: string): number {
  return Date.parse(end) - Date.parse(start);
}

/**
 * Marks the copies of one producer id of `table` (the row holding the id as it is and the rows
 * `<id>@<execution>`): the execution that started first owns it (ties: the row written first),
 * every other copy names the owner in replay_of.
 */
function replayByIdSql(table: string): string {
  return `
    WITH grp AS (
      SELECT rowid AS rid, execution_id AS ex FROM ${table} WHERE id = @key
      UNION ALL
      SELECT rowid, execution_id FROM ${table} WHERE id > @key || '@' AND id < @key || 'A'
    ),
    ranked AS (
      SELECT g.rid, g.ex, ROW_NUMBER() OVER (ORDER BY r.started_at IS NULL, r.started_at, g.rid) AS n
        FROM grp g LEFT JOIN task_list_execution_runs r ON r.id = g.ex
    )
    UPDATE ${table}
       SET replay_of = CASE WHEN ranked.n = 1 THEN NULL ELSE (SELECT ex FROM ranked WHERE n = 1) END
      FROM ranked
     WHERE ${table}.rowid = ranked.rid`;
}

/**
 * A set of ids as a Bloom filter in fixed memory: "not in it" is sure, "in it" may be wrong (then
 * the table is asked). Sized from the ids of a source's first step, so the filter of a small
 * table stays small; over many more steps it fills and answers "maybe" more often, never wrongly.
 */
class Claimed {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  constructor(idsPerStep: number) {
    // About 256 bits an id of one step: a false "maybe" stays rare for dozens of steps.
    const wanted = Math.min(2 ** 23, Math.max(2 ** 16, idsPerStep * 256));
    const size = 2 ** Math.ceil(Math.log2(wanted));
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
  }

  /** Two bit positions of an id (FNV-1a, and a mix of it for the second). */
  private spots(id: string): [number, number] {
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    let g = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    g = Math.imul(g ^ (g >>> 13), 0xc2b2ae35);
    g ^= g >>> 16;
    return [h & this.mask, g & this.mask];
  }

  add(id: string): void {
    for (const b of this.spots(id)) this.bits[b >>> 5]! |= 1 << (b & 31);
  }

  has(id: string): boolean {
    return this.spots(id).every((b) => (this.bits[b >>> 5]! & (1 << (b & 31))) !== 0);
  }
}

/**
 * One table's producer ids within a source. The stored id of producer id `pid` in execution
 * `exec` is the id itself when this execution holds it (or nobody does yet: then it claims it),
 * else `<pid>@<exec>`, noted in `shared` for the replay marking.
 *
 * What it learns is kept in bounded memory for a source of any length: an id claimed by naming
 * a row (a tool call's own id) is written with that row, so it is only remembered for the step
 * it was seen in and the one after, and looked up again later; an id claimed by a reference
 * alone (a task a line names but no line writes) is remembered to the end.
 */
class IdScope {
  /**
   * Every id this source claimed by a row in an earlier step, when the table was empty as the
   * source began and nobody else has written since: an id it does not hold cannot be in the
   * table, so a first ingest of a long history does not look each new id up (null: ask the table).
   */
  private mine: Claimed | null = null;
  private ownTable: boolean;
  /** Producer id → the execution that holds it, claimed by reference. */
  private readonly refs = new Map<string, string>();
  /** Producer id → the execution that holds it, claimed by a row of this step (and of the last). */
  private cur = new Map<string, string>();
  private prev = new Map<string, string>();
  /** The statement that says which execution holds an id. */
  private readonly holder: Statement;
  /** Whether the table may hold ids this source did not write: not when it was empty when the source began. */
  private lookups: boolean;
  // Consecutive lines mostly name the same task, agent and wave: the last answer is kept.
  private lastExec = "";
  private lastPid = "";
  private lastId = "";

  constructor(db: DB, table: Owned, private readonly shared: Set<string> | null) {
    // A table empty when the source began holds no other execution's ids, only those this
    // source claims: the first ingest of a big history never looks one up.
    this.lookups = prepared(db, `SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined;
    this.ownTable = !this.lookups;
    this.holder = prepared(db, `SELECT ${OWNED[table]} FROM ${table} WHERE id = ?`).pluck();
  }

  /** Whether the id the last call gave is new to the table: never seen in this source, and the table cannot hold it. */
  fresh = false;

  of(exec: string, pid: string, ref: boolean): string {
    this.fresh = false;
    if (pid === this.lastPid && exec === this.lastExec) return this.lastId;
    let owner = this.refs.get(pid) ?? this.cur.get(pid);
    if (owner === undefined) {
      owner = this.prev.get(pid);
      if (owner === undefined) {
        // A row another producer wrote without an execution is taken to be this one's.
        const ask = this.lookups && (this.mine === null || this.mine.has(pid));
        owner = ((ask ? (this.holder.get(pid) as string | null | undefined) : undefined) ?? exec) as string;
        this.fresh = !ask;
      }
      (ref ? this.refs : this.cur).set(pid, owner);
    }
    let id = pid;
    if (owner !== exec) {
      id = `${pid}@${exec}`;
      this.shared?.add(pid);
    }
    this.lastExec = exec;
    this.lastPid = pid;
    this.lastId = id;
    return id;
  }

  /** A step was written: ids claimed by rows before the last step are in the table now, to be looked up. */
  stepped(): void {
    if (this.ownTable) {
      this.mine ??= new Claimed(this.cur.size);
      for (const pid of this.cur.keys()) this.mine.add(pid);
    }
    this.prev = this.cur;
    this.cur = new Map();
    this.lookups = true;
  }
  /** Another program wrote to the file between steps: the table may now hold any id. */
  othersWrote(): void {
    this.ownTable = false;
    this.mine = null;
  }

}

/** Statements prepared once per connection and shared by every Folder (one per source). */
const STATEMENTS = new WeakMap<DB, Map<string, Statement>>();
export function prepared(db: DB, sql: string): Statement {
  let m = STATEMENTS.get(db);
  if (!m) STATEMENTS.set(db, (m = new Map()));
  let st = m.get(sql);
  if (!st) m.set(sql, (st = db.prepare(sql)));
  return st;
}

/**
 * After a source written in steps is taken out again: the rows other executions share with the
 * executions removed are marked again (see replayByIdSql), and so are the model calls by response.
 */
export function remarkReplays(db: DB, keys: { table: string; key: string }[], responses: string[]): void {
  for (const { table, key } of keys) prepared(db, replayByIdSql(table)).run({ key });
  for (const key of responses) prepared(db, REPLAY_BY_RESPONSE).run({ key });
}

const REPLAY_BY_RESPONSE = `
        -- One model response recorded several times: the execution that started first owns it
        -- (ties: the row written first); every other row of it names the owner in replay_of.
        WITH grp AS (
          SELECT rowid AS rid, execution_id AS ex FROM llm_calls WHERE response_id = @key
        ),
        ranked AS (
          SELECT g.rid, g.ex, ROW_NUMBER() OVER (ORDER BY r.started_at IS NULL, r.started_at, g.rid) AS n
            FROM grp g LEFT JOIN task_list_execution_runs r ON r.id = g.ex
        )
        UPDATE llm_calls
           SET replay_of = CASE WHEN ranked.n = 1 THEN NULL ELSE (SELECT ex FROM ranked WHERE n = 1) END
          FROM ranked
         WHERE llm_calls.rowid = ranked.rid`;

/** The kinds whose line writes a transcript entry (unless it links one). */
const ENTRY_KINDS: ReadonlySet<string> = new Set(["tool:start", "skill:start", "skill:end", "assertion:result"]);

/**
 * Pending tool calls are written out past this many, or once their inputs and outputs hold this
 * many characters, to bound memory on huge batches: another tool's session can carry megabytes
 * of file contents in its tool results.
 */
const MAX_PENDING_TOOLS = 20_000;
const MAX_PENDING_CHARS = 2 * 1024 * 1024;

/** A prepared statement whose runs keep the Folder's view of last_insert_rowid(). */
interface Tracked {
  run(...args: unknown[]): unknown;
  get(...args: unknown[]): unknown;
}

export class Folder {
  /** Highest sequence seen per execution, so lines without one get the next. */
  private readonly maxSeq = new Map<string, number>();
  /** Each table's producer ids as this batch scopes them (see IdScope). */
  private readonly ids: Record<Owned, IdScope>;
  /** Producer ids of each replayable table that several executions use, seen in this batch. */
  private readonly shared = new Map<string, Set<string>>();
  /** Response ids of model calls written in this batch, to find the ones counted elsewhere. */
  private readonly responses = new Set<string>();
  /** Executions this source wrote for: each has its run row, registered on first sight. */
  private readonly runs = new Set<string>();
  /** The executions this source began (the file had no run row of them). */
  readonly began: string[] = [];
  /** Whether it wrote for an execution the file already had (then it cannot be taken out by execution). */
  addsToKnown = false;
  /** The highest entry rowid before this batch: a row above it was written by this batch. */
  private startRowid: number | null = null;
  /** The same for model calls: an id-less call is known by its line too (see contentId). */
  private startLlmRowid: number | null = null;
  private readonly updated: (table: string, id: string) => void;
  private readonly prefix: Prefix | undefined;
  private readonly logEvents: boolean;
  /** Prefix counts of lines already looked up in this batch. */
  private readonly prefixCounts = new Map<string, number>();
  private readonly touchedChains = new Set<string>();
  private readonly touchedSkills = new Set<string>();
  private readonly tools = new Map<string, ToolAcc>();
  /** Characters of input and output the pending tool calls hold. */
  private pendingChars = 0;
  private readonly s: Record<string, Tracked>;
  /** What a task that replaces another runs (see replaceTask), in order. */
  private readonly replacing: Tracked[];
  /** last_insert_rowid() as of the last statement run: an upsert that updates leaves it as it was. */
  private lastRowid: number | bigint;

  /**
   * `updated` hears of each indexed row (entry, tool call, skill, assertion, agent) that a
   * statement updated rather than inserted, so the search index can look at it again.
   */
  constructor(
    private readonly db: DB,
    private readonly source: string,
    opts: FolderOptions = {},
  ) {
    this.updated = opts.updated ?? (() => {});
    this.prefix = opts.prefix;
    this.logEvents = Boolean(opts.logEvents);
    this.lastRowid = (prepared(db, `SELECT last_insert_rowid() AS r`).get() as { r: number }).r;
    const p = (sql: string): Tracked => {
      const st = prepared(db, sql);
      return {
        run: (...args: unknown[]) => {
          const r = st.run(...args);
          this.lastRowid = r.lastInsertRowid;
          return r;
        },
        get: (...args: unknown[]) => st.get(...args),
      };
    };
    const scope = (t: Owned) => new IdScope(db, t, (REPLAYABLE as readonly string[]).includes(t) ? this.sharedOf(t) : null);
    // A literal of fixed shape: scope() reads it for every line.
    this.ids = {
      transcript_entries: scope("transcript_entries"), tool_uses: scope("tool_uses"), skill_traces: scope("skill_traces"),
      assertion_chains: scope("assertion_chains"), assertion_results: scope("assertion_results"), events: scope("events"),
      llm_calls: scope("llm_calls"), tasks: scope("tasks"), parallel_execution_waves: scope("parallel_execution_waves"),
      build_agent_instances: scope("build_agent_instances"),
    };
    this.s = {
      maxSeq: p(`SELECT MAX(sequence) AS m FROM transcript_entries WHERE execution_id = ?`),
      seqOf: p(`SELECT sequence FROM transcript_entries WHERE id = ?`),
      entryAt: p(`SELECT rowid AS r, sequence FROM transcript_entries WHERE id = ?`),
      llmAt: p(`SELECT rowid AS r FROM llm_calls WHERE id = ?`),
      maxLlmRowid: p(`SELECT MAX(rowid) AS r FROM llm_calls`),
      maxEntryRowid: p(`SELECT MAX(rowid) AS r FROM transcript_entries`),
      register: p(`INSERT OR IGNORE INTO task_list_execution_runs (id, source) VALUES (?, ?)`),
      responseCount: p(`SELECT COUNT(*) AS n FROM llm_calls WHERE response_id = ?`),
      // Positional parameters: binding by name costs measurably on the hottest statement.
      entry: p(`
        INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, task_id, instance_id,
                                        wave_number, wave_id, entry_type, category, summary, details, duration_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET
          timestamp = excluded.timestamp, sequence = excluded.sequence, execution_id = excluded.execution_id,
          task_id = excluded.task_id, instance_id = excluded.instance_id, wave_number = excluded.wave_number,
          wave_id = excluded.wave_id, entry_type = excluded.entry_type, category = excluded.category,
          summary = excluded.summary, details = excluded.details, duration_ms = excluded.duration_ms`),
      run: p(`
        INSERT INTO task_list_execution_runs (id, task_list_id, status, started_at, completed_at, source, message, status_at, session_id, cwd, git_branch)
        VALUES (@id, @task_list_id, @status, @timestamp, @completed_at, @source, @message, @timestamp, @session_id, @cwd, @git_branch)
        ON CONFLICT(id) DO UPDATE SET
          task_list_id = COALESCE(excluded.task_list_id, task_list_id),
          cwd          = COALESCE(excluded.cwd, cwd),
          git_branch   = COALESCE(excluded.git_branch, git_branch),
          session_id   = COALESCE(excluded.session_id, session_id),
          source       = COALESCE(source, excluded.source),
          started_at   = CASE WHEN started_at IS NULL OR excluded.started_at < started_at
                              THEN excluded.started_at ELSE started_at END,
          completed_at = CASE WHEN completed_at IS NULL OR excluded.completed_at > completed_at -- the latest, in any order
                              THEN COALESCE(excluded.completed_at, completed_at) ELSE completed_at END,
          status       = CASE WHEN status_at IS NULL OR excluded.status_at >= status_at THEN excluded.status ELSE status END,
          message      = CASE WHEN status_at IS NULL OR excluded.status_at >= status_at THEN COALESCE(excluded.message, message) ELSE message END,
          status_at    = MAX(COALESCE(status_at, ''), excluded.status_at)`),
      // A tool call's lines are folded in memory first (see ToolAcc), so one upsert writes
      // what a batch learnt of it; against a row from an earlier batch, known values win.
      tool: p(`
        INSERT INTO tool_uses (id, execution_id, task_id, transcript_entry_id, tool, tool_category, input, input_summary,
                               result_status, output, output_summary, is_error, is_blocked, block_reason, error_message,
                               start_time, end_time, duration_ms, within_skill, parent_tool_use_id, wave_id)
        VALUES (@id, @execution_id, @task_id, @transcript_entry_id, @tool, @tool_category, @input, @input_summary,
                @result_status, @output, @output_summary, COALESCE(@is_error, 0), COALESCE(@is_blocked, 0), @block_reason,
                @error_message, @start_time, @end_time, ${DURATION("@end_time", "@start_time")}, @within_skill,
                @parent_tool_use_id, @wave_id)
        ON CONFLICT(id) DO UPDATE SET
          execution_id        = COALESCE(@execution_id, execution_id),
          task_id             = COALESCE(@task_id, task_id),
          transcript_entry_id = COALESCE(@transcript_entry_id, transcript_entry_id),
          tool                = COALESCE(@tool, tool),
          tool_category       = COALESCE(@tool_category, tool_category),
          input               = COALESCE(@input, input),
          input_summary       = COALESCE(@input_summary, input_summary),
          is_blocked          = MAX(is_blocked, COALESCE(@is_blocked, 0)),
          result_status       = CASE WHEN is_blocked = 1 OR @is_blocked = 1 THEN 'blocked'
                                     ELSE COALESCE(@result_status, result_status) END,
          output              = COALESCE(@output, output),
          output_summary      = COALESCE(@output_summary, output_summary),
          is_error            = COALESCE(@is_error, is_error),
          block_reason        = COALESCE(@block_reason, block_reason),
          error_message       = COALESCE(@error_message, error_message),
          start_time          = COALESCE(@start_time, start_time),
          end_time            = COALESCE(@end_time, end_time),
          duration_ms         = ${DURATION("COALESCE(@end_time, end_time)", "COALESCE(@start_time, start_time)")},
          within_skill        = COALESCE(@within_skill, within_skill),
          parent_tool_use_id  = COALESCE(@parent_tool_use_id, parent_tool_use_id),
          wave_id             = COALESCE(@wave_id, wave_id)`),
      // The common case, a call whose start and end came in this batch, by position (binding by
      // name costs ~3 µs a row); against a row from an earlier batch, known values still win.
      toolComplete: p(`
        INSERT INTO tool_uses (id, execution_id, task_id, transcript_entry_id, tool, tool_category, input, input_summary,
                               result_status, output, output_summary, is_error, is_blocked, block_reason, error_message,
                               start_time, end_time, duration_ms, within_skill, parent_tool_use_id, wave_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET
          execution_id = excluded.execution_id, task_id = COALESCE(excluded.task_id, task_id),
          transcript_entry_id = excluded.transcript_entry_id, tool = excluded.tool, tool_category = excluded.tool_category,
          input = excluded.input, input_summary = excluded.input_summary,
          is_blocked = MAX(is_blocked, excluded.is_blocked),
          result_status = CASE WHEN is_blocked = 1 OR excluded.is_blocked = 1 THEN 'blocked' ELSE excluded.result_status END,
          output = COALESCE(excluded.output, output), output_summary = COALESCE(excluded.output_summary, output_summary),
          is_error = excluded.is_error, block_reason = COALESCE(excluded.block_reason, block_reason),
          error_message = COALESCE(excluded.error_message, error_message),
          start_time = excluded.start_time, end_time = excluded.end_time, duration_ms = excluded.duration_ms,
          within_skill = excluded.within_skill, parent_tool_use_id = excluded.parent_tool_use_id,
          wave_id = COALESCE(excluded.wave_id, wave_id)`),
      toolOutputGet: p(`SELECT output FROM tool_uses WHERE id = ?`),
      skillStart: p(`
        INSERT INTO skill_traces (id, execution_id, task_id, instance_id, skill_name, skill_file, line_number, section_title, start_time)
        VALUES (@id, @execution_id, @task_id, @instance_id, @skill_name, @skill_file, @line_number, @section_title, @timestamp)
        ON CONFLICT(id) DO UPDATE SET
          execution_id = excluded.execution_id, task_id = COALESCE(excluded.task_id, task_id),
          instance_id = COALESCE(excluded.instance_id, instance_id), skill_name = excluded.skill_name,
          skill_file = excluded.skill_file, line_number = excluded.line_number, section_title = excluded.section_title,
          start_time = excluded.start_time,
          duration_ms = CASE WHEN end_time IS NOT NULL THEN ${DURATION("end_time", "excluded.start_time")} END`),
      skillEnd: p(`
        INSERT INTO skill_traces (id, execution_id, task_id, instance_id, status, error_message, end_time)
        VALUES (@id, @execution_id, @task_id, @instance_id, @status, @error, @timestamp)
        ON CONFLICT(id) DO UPDATE SET
          status = excluded.status, error_message = COALESCE(excluded.error_message, error_message),
          end_time = excluded.end_time,
          duration_ms = CASE WHEN start_time IS NOT NULL THEN ${DURATION("excluded.end_time", "start_time")} END`),
      skillName: p(`SELECT skill_name FROM skill_traces WHERE id = ?`),
      skillToolCalls: p(`
        UPDATE skill_traces
           SET tool_calls = (SELECT json_group_array(id) FROM
                               (SELECT id FROM tool_uses WHERE within_skill = @id ORDER BY start_time, id))
         WHERE id = @id AND status IS NOT NULL`),
      chainStart: p(`
        INSERT INTO assertion_chains (id, execution_id, task_id, description, started_at)
        VALUES (@id, @execution_id, @task_id, @description, @timestamp)
        ON CONFLICT(id) DO UPDATE SET
          execution_id = excluded.execution_id, task_id = excluded.task_id,
          description = COALESCE(excluded.description, description), started_at = excluded.started_at`),
      chainEnd: p(`
        INSERT INTO assertion_chains (id, execution_id, task_id, completed_at)
        VALUES (@id, @execution_id, @task_id, @timestamp)
        ON CONFLICT(id) DO UPDATE SET completed_at = excluded.completed_at`),
      chainRecount: p(`
        UPDATE assertion_chains
           SET pass_count = (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = @id AND r.result = 'pass'),
               fail_count = (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = @id AND r.result = 'fail'),
               skip_count = (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = @id AND r.result = 'skip'),
               first_failure_id = (SELECT r.id FROM assertion_results r
                                    WHERE r.chain_id = @id AND r.result = 'fail'
                                    ORDER BY r.timestamp, r.id LIMIT 1),
               overall_result = CASE
                 WHEN completed_at IS NULL THEN NULL
                 WHEN EXISTS (SELECT 1 FROM assertion_results r WHERE r.chain_id = @id AND r.result = 'fail') THEN 'fail'
                 ELSE 'pass' END
         WHERE id = @id`),
      assertion: p(`
        INSERT INTO assertion_results (id, execution_id, task_id, chain_id, category, description, result, evidence,
                                       timestamp, duration_ms, transcript_entry_id, wave_id)
        VALUES (@id, @execution_id, @task_id, @chain_id, @category, @description, @result, @evidence,
                @timestamp, @duration_ms, @transcript_entry_id, @wave_id)
        ON CONFLICT(id) DO UPDATE SET
          execution_id = excluded.execution_id, task_id = excluded.task_id, chain_id = excluded.chain_id,
          category = excluded.category, description = excluded.description, result = excluded.result,
          evidence = excluded.evidence, timestamp = excluded.timestamp, duration_ms = excluded.duration_ms,
          transcript_entry_id = excluded.transcript_entry_id, wave_id = excluded.wave_id`),
      task: p(`
        INSERT INTO tasks (id, execution_id, display_id, title, status, file_path, started_at, completed_at, status_at)
        VALUES (@id, @execution_id, @display_id, @title, @status, @file_path, @started_at, @completed_at, @timestamp)
        ON CONFLICT(id) DO UPDATE SET
          execution_id = excluded.execution_id,
          display_id = COALESCE(excluded.display_id, display_id), title = COALESCE(excluded.title, title),
          file_path = COALESCE(excluded.file_path, file_path),
          status = CASE WHEN status_at IS NULL OR excluded.status_at >= status_at THEN excluded.status ELSE status END,
          started_at = CASE WHEN started_at IS NULL OR excluded.started_at < started_at
                            THEN COALESCE(excluded.started_at, started_at) ELSE started_at END,
          completed_at = CASE WHEN completed_at IS NULL OR excluded.completed_at > completed_at -- the latest, in any order
                              THEN COALESCE(excluded.completed_at, completed_at) ELSE completed_at END,
          status_at = MAX(COALESCE(status_at, ''), excluded.status_at)`),
      taskDep: p(`INSERT OR IGNORE INTO task_dependencies (task_id, depends_on_task_id) VALUES (?, ?)`),
      taskHeld: p(`SELECT 1 AS y FROM tasks WHERE id = ? AND execution_id = ?`),
      assignment: p(`
        INSERT INTO wave_task_assignments (wave_id, task_id, instance_id, status, started_at, completed_at)
        VALUES (@wave_id, @task_id, @instance_id, @status, @started_at, @completed_at)
        ON CONFLICT(wave_id, task_id) DO UPDATE SET
          instance_id = COALESCE(excluded.instance_id, instance_id),
          status = COALESCE(excluded.status, status),
          started_at = COALESCE(started_at, excluded.started_at),
          completed_at = COALESCE(excluded.completed_at, completed_at)`),
      wave: p(`
        INSERT INTO parallel_execution_waves (id, execution_run_id, wave_number, status, started_at, completed_at)
        VALUES (@id, @execution_id, @wave_number, @status, @started_at, @completed_at)
        ON CONFLICT(id) DO UPDATE SET
          execution_run_id = excluded.execution_run_id, wave_number = excluded.wave_number,
          status = excluded.status,
          started_at = CASE WHEN started_at IS NULL OR excluded.started_at < started_at
                            THEN COALESCE(excluded.started_at, started_at) ELSE started_at END,
          completed_at = COALESCE(excluded.completed_at, completed_at)`),
      // Written when the wave completes, from what is known then (seed 088: pre-computed statistics).
      waveStats: p(`
        WITH a AS (
          SELECT wta.task_id, wta.instance_id, t.status
            FROM wave_task_assignments wta
            LEFT JOIN tasks t ON t.id = wta.task_id
           WHERE wta.wave_id = @id
        ),
        ar AS (
          SELECT r.result FROM assertion_results r WHERE r.task_id IN (SELECT task_id FROM a)
        )
        INSERT INTO wave_statistics (wave_id, execution_id, wave_number, task_count, completed_count, failed_count,
                                     pass_rate, started_at, completed_at, duration_ms, max_parallel_agents)
        SELECT w.id, w.execution_run_id, w.wave_number,
               (SELECT COUNT(*) FROM a),
               (SELECT COUNT(*) FROM a WHERE status = 'completed'),
               (SELECT COUNT(*) FROM a WHERE status = 'failed'),
               (SELECT ROUND(1.0 * SUM(result = 'pass') / NULLIF(SUM(result IN ('pass', 'fail')), 0), 4) FROM ar),
               w.started_at, w.completed_at,
               ${DURATION("w.completed_at", "w.started_at")},
               (SELECT COUNT(DISTINCT instance_id) FROM a)
          FROM parallel_execution_waves w
         WHERE w.id = @id
        ON CONFLICT(wave_id) DO UPDATE SET
          execution_id = excluded.execution_id, wave_number = excluded.wave_number,
          task_count = excluded.task_count, completed_count = excluded.completed_count,
          failed_count = excluded.failed_count, pass_rate = excluded.pass_rate,
          started_at = excluded.started_at, completed_at = excluded.completed_at,
          duration_ms = excluded.duration_ms, max_parallel_agents = excluded.max_parallel_agents`),
      agent: p(`
        INSERT INTO build_agent_instances (id, execution_id, task_id, wave_id, status, spawned_at, completed_at, last_heartbeat_at, error_message, agent_type)
        VALUES (@id, @execution_id, @task_id, @wave_id, @status, @timestamp, @completed_at, @timestamp, @error_message, @agent_type)
        ON CONFLICT(id) DO UPDATE SET
          execution_id = excluded.execution_id,
          agent_type = COALESCE(excluded.agent_type, agent_type),
          spawned_at = MIN(COALESCE(spawned_at, excluded.spawned_at), excluded.spawned_at),
          task_id = CASE WHEN last_heartbeat_at IS NULL OR excluded.last_heartbeat_at >= last_heartbeat_at
                         THEN COALESCE(excluded.task_id, task_id) ELSE task_id END,
          wave_id = CASE WHEN last_heartbeat_at IS NULL OR excluded.last_heartbeat_at >= last_heartbeat_at
                         THEN COALESCE(excluded.wave_id, wave_id) ELSE wave_id END,
          status = CASE WHEN last_heartbeat_at IS NULL OR excluded.last_heartbeat_at >= last_heartbeat_at
                        THEN excluded.status ELSE status END,
          completed_at = CASE WHEN completed_at IS NULL OR excluded.completed_at > completed_at -- the latest, in any order
                              THEN COALESCE(excluded.completed_at, completed_at) ELSE completed_at END,
          error_message = COALESCE(excluded.error_message, error_message),
          last_heartbeat_at = MAX(COALESCE(last_heartbeat_at, ''), excluded.last_heartbeat_at)`),
      heartbeat: p(`
        INSERT OR IGNORE INTO agent_heartbeats (id, instance_id, execution_id, timestamp, status, current_task_id, metrics)
        VALUES (@id, @instance_id, @execution_id, @timestamp, @status, @current_task_id, @metrics)`),
      // A heartbeat its producer names says the agent's state as of then, and a later saying
      // replaces it: an adapter reading a growing session again moves the agent's end, and two
      // files that both end one agent (a subagent's own and its echo in its session) end it once.
      namedHeartbeat: p(`
        INSERT INTO agent_heartbeats (id, instance_id, execution_id, timestamp, status, current_task_id, metrics)
        VALUES (@id, @instance_id, @execution_id, @timestamp, @status, @current_task_id, @metrics)
        ON CONFLICT(id) DO UPDATE SET
          timestamp = excluded.timestamp, status = excluded.status,
          current_task_id = excluded.current_task_id, metrics = excluded.metrics
        WHERE excluded.timestamp >= agent_heartbeats.timestamp`),
      eventLog: p(`
        INSERT OR IGNORE INTO message_bus_log (
          id, event_id, timestamp, source, event_type, correlation_id, human_summary,
          severity, category, task_id, execution_id, payload
        )
        SELECT 'mbl-' || id, id, timestamp, source, event_type, correlation_id, human_summary,
               severity, category, task_id, execution_id, payload
          FROM events WHERE rowid = ?`),
      busEvent: p(`
        INSERT INTO events (id, execution_id, timestamp, source, event_type, correlation_id, severity, category,
                            human_summary, task_id, payload)
        VALUES (@id, @execution_id, @timestamp, @source, @event_type, @correlation_id, @severity, @category,
                @human_summary, @task_id, @payload)
        ON CONFLICT(id) DO NOTHING`),
      llm: p(`
        INSERT INTO llm_calls (id, execution_id, task_id, instance_id, transcript_entry_id, model, provider, input_tokens,
                               output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
                               reasoning_tokens, response_id, cost_usd, start_time, end_time, duration_ms)
        VALUES (@id, @execution_id, @task_id, @instance_id, @transcript_entry_id, @model, @provider, @input_tokens,
                @output_tokens, @cache_read_tokens, @cache_write_tokens, @cache_write_1h_tokens,
                @reasoning_tokens, @response_id, @cost_usd, @start_time, @timestamp, @duration_ms)
        -- The same call recorded again (a file re-read, a response echoed in another file while it
        -- streamed): the fuller record wins, as a streamed response's usage only grows.
        ON CONFLICT(id) DO UPDATE SET
          model = excluded.model, provider = excluded.provider, input_tokens = excluded.input_tokens,
          output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens,
          cache_write_tokens = excluded.cache_write_tokens, cache_write_1h_tokens = excluded.cache_write_1h_tokens,
          reasoning_tokens = excluded.reasoning_tokens, response_id = COALESCE(excluded.response_id, response_id),
          cost_usd = excluded.cost_usd, task_id = COALESCE(excluded.task_id, task_id),
          instance_id = COALESCE(excluded.instance_id, instance_id),
          start_time = excluded.start_time, end_time = excluded.end_time, duration_ms = excluded.duration_ms
        WHERE COALESCE(excluded.output_tokens, 0) + COALESCE(excluded.input_tokens, 0) >= COALESCE(output_tokens, 0) + COALESCE(input_tokens, 0)`),
      ...Object.fromEntries(REPLAYABLE.map((t) => [`replay_${t}`, p(replayByIdSql(t))])),
      replayByResponse: p(REPLAY_BY_RESPONSE),
    };
    // A task named provisionally (a subagent's file read before the Task result that names its
    // agent) and later for real: its work moves to the real task, agents' types with it.
    const task = (table: string, column = "task_id") => p(`UPDATE ${table} SET ${column} = @to WHERE execution_id = @x AND ${column} = @from`);
    this.replacing = [
      p(`UPDATE build_agent_instances SET task_id = CASE WHEN task_id = @from THEN @to ELSE task_id END, agent_type = COALESCE(@agent_type, agent_type)
          WHERE execution_id = @x AND (task_id = @from OR id IN (SELECT instance_id FROM agent_heartbeats WHERE execution_id = @x AND current_task_id = @from))`),
      task("agent_heartbeats", "current_task_id"),
      task("tool_uses"),
      p(`UPDATE tool_uses SET parent_tool_use_id = @to_tool WHERE execution_id = @x AND parent_tool_use_id = @from_tool`),
      task("transcript_entries"),
      task("llm_calls"),
      task("skill_traces"),
      task("assertion_chains"),
      task("assertion_results"),
      task("events"),
      task("message_bus_log"),
      p(`UPDATE OR IGNORE task_dependencies SET task_id = @to WHERE task_id = @from`),
      p(`UPDATE OR IGNORE task_dependencies SET depends_on_task_id = @to WHERE depends_on_task_id = @from`),
      p(`DELETE FROM task_dependencies WHERE task_id = @from OR depends_on_task_id = @from`),
      p(`UPDATE OR IGNORE wave_task_assignments SET task_id = @to WHERE task_id = @from`),
      p(`DELETE FROM wave_task_assignments WHERE task_id = @from`),
      p(`DELETE FROM tasks WHERE id = @from AND execution_id = @x`),
    ];
  }

  private sharedOf(table: string): Set<string> {
    let set = this.shared.get(table);
    if (!set) this.shared.set(table, (set = new Set()));
    return set;
  }

  /**
   * Rewrites a line's producer ids to the ids they have in its execution (see IdScope). The id
   * of the row a line writes is a claim by row; every other id it names is a reference.
   */
  private scope(e: ObsEvent): void {
    const x = e.execution_id;
    const ids = this.ids;
    this.freshEntry = null;
    const to = (table: Owned, field: string, ref = true) => {
      const v = e[field];
      if (typeof v !== "string") return;
      const id = (e[field] = ids[table].of(x, v, ref));
      if (!ref && table === "transcript_entries" && ids.transcript_entries.fresh) this.freshEntry = id;
    };
    const kind = e.kind;
    if (kind === "task:status" && typeof e.replaces === "string") {
      // A subagent's calls name the task they work as their parent call: both ids as tool calls know them too.
      e.replaces_tool_use = ids.tool_uses.of(x, e.replaces, true);
      if (typeof e.task_id === "string") e.task_tool_use = ids.tool_uses.of(x, e.task_id, true);
      e.replaces = ids.tasks.of(x, e.replaces, true);
    }
    to("tasks", "task_id", kind !== "task:status");
    to("build_agent_instances", "instance_id", kind !== "agent:heartbeat");
    to("parallel_execution_waves", "wave_id", kind !== "wave:status");
    // The entry a line writes: its own id, else the one it links to (a link writes no entry).
    const linked = typeof e.transcript_entry_id === "string";
    if (kind === "transcript:entry") {
      const own = typeof e.id === "string" ? "id" : typeof e.entry_id === "string" ? "entry_id" : "transcript_entry_id";
      to("transcript_entries", "id", own !== "id");
      to("transcript_entries", "entry_id", own !== "entry_id");
      to("transcript_entries", "transcript_entry_id", own !== "transcript_entry_id");
      return;
    }
    to("transcript_entries", "entry_id", linked || !ENTRY_KINDS.has(kind));
    to("transcript_entries", "transcript_entry_id");
    switch (kind) {
      case "tool:start":
        to("tool_uses", "parent_tool_use_id");
        to("skill_traces", "within_skill");
        to("tool_uses", "tool_use_id", false);
        return;
      case "tool:end":
      case "tool:blocked":
      case "tool:output":
        to("tool_uses", "tool_use_id", false);
        return;
      case "skill:start":
      case "skill:end":
        to("skill_traces", "skill_trace_id", false);
        return;
      case "assertion:chain_start":
      case "assertion:chain_end":
        to("assertion_chains", "chain_id", false);
        return;
      case "assertion:result":
        to("assertion_results", "assertion_id", false);
        to("assertion_chains", "chain_id");
        return;
      case "task:status":
        if (Array.isArray(e.depends_on)) e.depends_on = (e.depends_on as string[]).map((d) => ids.tasks.of(x, d, true));
        return;
      case "wave:status":
        if (Array.isArray(e.task_ids)) e.task_ids = (e.task_ids as string[]).map((d) => ids.tasks.of(x, d, true));
        return;
      case "agent:heartbeat":
        to("tasks", "current_task_id");
        return;
      case "messagebus:event":
        to("events", "event_id", false);
        return;
      case "llm:call":
        to("llm_calls", "id", false);
        return;
      default:
        return;
    }
  }

  /**
   * The id of an entry its producer gave no id: its execution and a hash of its line, with the
   * line's occurrence number when the execution has identical lines before it. Returns the
   * sequence the entry already has when it was stored before (the same line read again).
   */
  private contentEntry(exec: string, line: string): { id: string; sequence: number | null } {
    this.startRowid ??= ((this.s.maxEntryRowid.get() as { r: number | null }).r ?? 0) as number;
    line = line.trim();
    const { id, row } = this.contentId(`${exec}:${contentHash(line)}`, line, this.s.entryAt, this.startRowid);
    return { id, sequence: (row as { sequence: number } | undefined)?.sequence ?? null };
  }

  /**
   * The id a row its producer gave no id is known by: `base` (its execution and its line's
   * hash), then `base:k` for the k-th identical line, so a line read again is the same row and a
   * line repeated is another. `at` finds a row by id (its rowid as r); rows above `start` were
   * written by this batch.
   */
  private contentId(base: string, line: string, at: Tracked, start: number): { id: string; row: { r: number } | undefined } {
    for (let k = 1; ; k++) {
      const id = k === 1 ? base : `${base}:${k}`;
      const row = at.get(id) as { r: number } | undefined;
      if (!row) return { id, row };
      // Written by this batch: an earlier identical line of this read, so this one is the next.
      if (row.r > start) continue;
      // Written before: this line read again — unless the part of the source read before
      // holds identical lines, which own the first occurrence numbers.
      if (this.prefix) {
        let before = this.prefixCounts.get(line);
        if (before === undefined) this.prefixCounts.set(line, (before = this.prefix.count(line)));
        if (k <= before) {
          k = before;
          continue;
        }
      }
      return { id, row };
    }
  }

  /** A model call without an id is known by its line, as an id-less entry is: two calls alike in time and model are two calls. */
  private contentLlmId(exec: string): string {
    this.startLlmRowid ??= ((this.s.maxLlmRowid.get() as { r: number | null }).r ?? 0) as number;
    const line = this.line.trim();
    return this.contentId(`${exec}:llm:${contentHash(line)}`, line, this.s.llmAt, this.startLlmRowid).id;
  }

  private nextSequence(executionId: string): number {
    let max = this.maxSeq.get(executionId);
    if (max === undefined) {
      max = ((this.s.maxSeq.get(executionId) as { m: number | null }).m ?? 0) as number;
    }
    this.maxSeq.set(executionId, max + 1);
    return max + 1;
  }

  private noteSequence(executionId: string, seq: number): void {
    let max = this.maxSeq.get(executionId);
    if (max === undefined) max = ((this.s.maxSeq.get(executionId) as { m: number | null }).m ?? 0) as number;
    this.maxSeq.set(executionId, Math.max(max, seq));
  }

  /**
   * Writes the transcript entry a line makes (unless it links one the producer wrote, via
   * transcript_entry_id) and returns its id. Without sequence the entry gets the next one of
   * its execution (or keeps the one it has, when it was stored before); without an id, it is
   * known by its content (contentEntry).
   */
  private entry(
    e: ObsEvent,
    entryType: string,
    category: string,
    summary: string,
    details: unknown,
    durationMs: number | null,
    explicitId?: string | null,
    detailsJson?: string,
  ): string {
    const link = str(e.transcript_entry_id);
    if (link && e.kind !== "transcript:entry") return link;
    const named = explicitId ?? str(e.entry_id);
    let sequence = int(e.sequence);
    let id: string;
    if (named) {
      id = named;
      // An entry the producer named keeps its place when it is read again (an adapter re-reads a
      // whole session file when it grows); only a new one takes the next sequence. An id new to
      // the table (its scope just met it, and the table held none when the source began) is not looked up.
      const fresh = this.freshEntry === named;
      if (sequence === null && !fresh) sequence = ((this.s.seqOf.get(named) as { sequence: number } | undefined)?.sequence ?? null) as number | null;
    } else {
      const known = this.contentEntry(e.execution_id, this.line);
      id = known.id;
      sequence ??= known.sequence;
    }
    if (sequence === null) sequence = this.nextSequence(e.execution_id);
    else this.noteSequence(e.execution_id, sequence);
    this.upsert("transcript_entries", id, this.s.entry,
      id, e.timestamp, sequence, e.execution_id, str(e.task_id), str(e.instance_id), int(e.wave_number),
      str(e.wave_id), entryType, category, oneLine(summary), detailsJson ?? payloadJson(details), durationMs,
    );
    return id;
  }

  /** The line being folded, as read (an id-less entry is known by it). */
  private line = "";
  /** The id of the entry the line writes, when it is new to the table (see IdScope.fresh). */
  private freshEntry: string | null = null;

  /**
   * Folds one validated line. `line` is its text as read (trimmed); an entry without an id is
   * known by it. The event is rewritten in place (its ids scoped to its execution).
   */
  apply(e: ObsEvent, line: string): void {
    this.line = line;
    if (!this.runs.has(e.execution_id)) {
      // Every execution a row names has its run row, so a producer that never said "started"
      // is still listed (and a database enforcing foreign keys accepts its rows).
      const r = this.s.register.run(e.execution_id, this.source) as { changes: number };
      if (r.changes === 1) this.began.push(e.execution_id);
      else this.addsToKnown = true;
      this.runs.add(e.execution_id);
    }
    this.scope(e);
    const ctx: Ctx = { execution_id: e.execution_id, task_id: str(e.task_id), wave_id: str(e.wave_id), timestamp: e.timestamp };
    switch (e.kind) {
      case "execution:status": {
        const done = e.status === "completed" || e.status === "failed";
        this.s.run.run({
          id: e.execution_id,
          task_list_id: str(e.task_list_id),
          status: e.status,
          timestamp: e.timestamp,
          completed_at: done ? e.timestamp : null,
          source: this.source,
          message: str(e.message),
          session_id: str(e.session_id),
          cwd: str(e.cwd),
          git_branch: str(e.git_branch),
        });
        return;
      }
      case "transcript:entry":
        this.entry(
          e, e.entry_type as string, e.category as string, e.summary as string, e.details,
          int(e.duration_ms), str(e.id) ?? str(e.entry_id) ?? str(e.transcript_entry_id),
        );
        return;
      case "tool:start": {
        const id = e.tool_use_id as string;
        const tool = e.tool as string;
        const inputSummary = oneLine(str(e.input_summary) ?? summariseInput(e.input));
        const a = this.acc(id);
        a.execution_id = e.execution_id;
        a.task_id = ctx.task_id ?? a.task_id;
        a.transcript_entry_id = this.entry(e, "tool_use", "tool", `${tool}: ${inputSummary}`, null, null, null, `{"tool_use_id":${JSON.stringify(id)},"tool":${JSON.stringify(tool)}}`);
        a.tool = tool;
        a.tool_category = str(e.tool_category) ?? toolCategory(tool);
        a.input = payloadJson(e.input);
        this.pendingChars += a.input?.length ?? 0;
        a.input_summary = inputSummary;
        a.start_time = e.timestamp;
        a.within_skill = str(e.within_skill);
        a.parent_tool_use_id = str(e.parent_tool_use_id);
        a.wave_id = ctx.wave_id ?? a.wave_id;
        if (a.within_skill) this.touchedSkills.add(a.within_skill);
        return;
      }
      case "tool:end": {
        const a = this.acc(e.tool_use_id as string);
        const isError = flag(e.is_error);
        a.execution_id ??= e.execution_id;
        a.task_id ??= ctx.task_id;
        a.wave_id ??= ctx.wave_id;
        a.result_status = a.is_blocked ? "blocked" : isError ? "error" : "done";
        a.is_error = isError;
        const output = payloadJson(e.output);
        if (output !== null) {
          a.output = output;
          this.pendingChars += output.length;
        }
        const summary = str(e.output_summary) !== null ? oneLine(e.output_summary as string) : e.output !== undefined ? summariseOutput(e.output) : null;
        if (summary !== null) a.output_summary = summary;
        a.error_message = str(e.error_message) ?? a.error_message;
        a.end_time = e.timestamp;
        return;
      }
      case "tool:blocked": {
        const a = this.acc(e.tool_use_id as string);
        a.execution_id ??= e.execution_id;
        a.task_id ??= ctx.task_id;
        a.wave_id ??= ctx.wave_id;
        a.result_status = "blocked";
        a.is_blocked = 1;
        a.block_reason = e.reason as string;
        a.end_time ??= e.timestamp;
        return;
      }
      case "tool:output": {
        const a = this.acc(e.tool_use_id as string);
        a.execution_id ??= e.execution_id;
        a.task_id ??= ctx.task_id;
        if (a.output === null) {
          const row = this.s.toolOutputGet.get(a.id) as { output: string | null } | undefined;
          a.output = row?.output ?? null;
        }
        a.output = appendOutput(a.output, flag(e.is_stderr) ? `[stderr] ${e.chunk as string}` : (e.chunk as string));
        this.pendingChars += (e.chunk as string).length;
        return;
      }
      case "skill:start": {
        const id = e.skill_trace_id as string;
        this.entry(
          e, "skill_invoke", "skill",
          `Skill ${e.skill_name as string} (${e.skill_file as string}:${e.line_number as number})`,
          { skill_trace_id: id, skill_name: e.skill_name, skill_file: e.skill_file, line_number: e.line_number, section_title: e.section_title },
          null,
        );
        this.upsert("skill_traces", id, this.s.skillStart, {
          ...ctx,
          id,
          instance_id: str(e.instance_id),
          skill_name: e.skill_name,
          skill_file: e.skill_file,
          line_number: e.line_number,
          section_title: e.section_title,
        });
        return;
      }
      case "skill:end": {
        const id = e.skill_trace_id as string;
        this.upsert("skill_traces", id, this.s.skillEnd, { ...ctx, id, instance_id: str(e.instance_id), status: e.status, error: str(e.error) });
        const name = (this.s.skillName.get(id) as { skill_name: string | null } | undefined)?.skill_name ?? id;
        const error = str(e.error);
        this.entry(
          e, "skill_complete", "skill",
          `Skill ${name} ${e.status as string}${error ? `: ${error}` : ""}`,
          { skill_trace_id: id, status: e.status, ...(error ? { error } : {}) },
          null,
        );
        this.touchedSkills.add(id);
        return;
      }
      case "assertion:chain_start":
        this.s.chainStart.run({ ...ctx, id: e.chain_id, description: str(e.description) });
        return;
      case "assertion:result": {
        const id = e.assertion_id as string;
        const result = e.result as string;
        const entryId = this.entry(
          e, "assertion", "validation",
          `${result.toUpperCase()} ${e.category as string}: ${e.description as string}`,
          { assertion_id: id, chain_id: str(e.chain_id), result, category: e.category },
          int(e.duration_ms),
        );
        this.upsert("assertion_results", id, this.s.assertion, {
          ...ctx,
          id,
          chain_id: str(e.chain_id),
          category: e.category,
          description: e.description,
          result,
          evidence: payloadJson(e.evidence),
          duration_ms: int(e.duration_ms),
          transcript_entry_id: entryId,
        });
        const chain = str(e.chain_id);
        if (chain) this.touchedChains.add(chain);
        return;
      }
      case "assertion:chain_end":
        this.s.chainEnd.run({ ...ctx, id: e.chain_id });
        this.touchedChains.add(e.chain_id as string);
        return;
      case "task:status": {
        const id = e.task_id as string;
        const status = e.status as string;
        const done = status === "completed" || status === "failed" || status === "skipped";
        this.s.task.run({
          ...ctx,
          id,
          display_id: str(e.display_id),
          title: str(e.title),
          status,
          file_path: str(e.file_path),
          started_at: status === "running" ? e.timestamp : null,
          completed_at: done ? e.timestamp : null,
        });
        for (const dep of (e.depends_on as string[] | undefined) ?? []) this.s.taskDep.run(id, dep);
        if (typeof e.replaces === "string" && e.replaces !== id) this.replaceTask(e.execution_id, e.replaces, id, e.replaces_tool_use as string, e.task_tool_use as string, str(e.agent_type));
        if (ctx.wave_id) {
          this.s.assignment.run({
            wave_id: ctx.wave_id,
            task_id: id,
            instance_id: str(e.instance_id),
            status,
            started_at: status === "running" ? e.timestamp : null,
            completed_at: done ? e.timestamp : null,
          });
        }
        return;
      }
      case "wave:status": {
        const id = e.wave_id as string;
        const status = e.status as string;
        const done = status === "completed" || status === "failed";
        this.s.wave.run({
          id,
          execution_id: e.execution_id,
          wave_number: e.wave_number,
          status,
          started_at: status === "running" ? e.timestamp : null,
          completed_at: done ? e.timestamp : null,
        });
        for (const taskId of (e.task_ids as string[] | undefined) ?? []) {
          this.s.assignment.run({ wave_id: id, task_id: taskId, instance_id: null, status: null, started_at: null, completed_at: null });
        }
        if (done) this.s.waveStats.run({ id });
        return;
      }
      case "agent:heartbeat": {
        const status = e.status as string;
        const metrics = e.metrics as Record<string, unknown> | undefined;
        this.upsert("build_agent_instances", e.instance_id as string, this.s.agent, {
          id: e.instance_id,
          execution_id: e.execution_id,
          task_id: str(e.current_task_id) ?? ctx.task_id,
          wave_id: ctx.wave_id,
          status,
          timestamp: e.timestamp,
          completed_at: TERMINAL_AGENT.has(status) ? e.timestamp : null,
          error_message: status === "error" || status === "failed" ? str(metrics?.error) : null,
          agent_type: str(e.agent_type),
        });
        const named = str(e.heartbeat_id);
        (named ? this.s.namedHeartbeat : this.s.heartbeat).run({
          id: named ?? `${e.instance_id as string}@${e.timestamp}`,
          instance_id: e.instance_id,
          execution_id: e.execution_id,
          timestamp: e.timestamp,
          status,
          current_task_id: str(e.current_task_id),
          metrics: payloadJson(e.metrics),
        });
        return;
      }
      case "messagebus:event": {
        const r = this.s.busEvent.run({
          ...ctx,
          id: e.event_id,
          source: e.source,
          event_type: e.event_type,
          correlation_id: str(e.correlation_id),
          severity: e.severity,
          category: str(e.category),
          human_summary: oneLine(e.human_summary as string),
          payload: payloadJson(e.payload),
        }) as { changes: number; lastInsertRowid: number | bigint };
        // What tr_event_to_log does, while obs's transaction has it dropped (see writer.ts).
        if (this.logEvents && r.changes === 1) this.s.eventLog.run(r.lastInsertRowid);
        return;
      }
      case "llm:call": {
        const duration = int(e.duration_ms);
        const responseId = str(e.response_id);
        const start = duration !== null ? new Date(Date.parse(e.timestamp) - duration).toISOString() : e.timestamp;
        this.s.llm.run({
          ...ctx,
          id: str(e.id) ?? this.contentLlmId(e.execution_id),
          instance_id: str(e.instance_id),
          transcript_entry_id: str(e.transcript_entry_id),
          model: e.model,
          provider: str(e.provider),
          input_tokens: e.input_tokens,
          output_tokens: e.output_tokens,
          cache_read_tokens: int(e.cache_read_tokens),
          cache_write_tokens: int(e.cache_write_tokens),
          cache_write_1h_tokens: int(e.cache_write_1h_tokens),
          reasoning_tokens: int(e.reasoning_tokens),
          response_id: responseId,
          cost_usd: typeof e.cost_usd === "number" ? e.cost_usd : null,
          start_time: start,
          duration_ms: duration,
        });
        if (responseId !== null) this.responses.add(responseId);
        return;
      }
    }
  }

  /**
   * Moves the work recorded under task `from` to task `to` of the same execution (tool calls,
   * entries, model calls, agents and their heartbeats, and what else names a task), gives the
   * agents that worked it `agentType` when one is known, and removes `from`: what another file
   * named provisionally, as if it had been named for real from the start. Nothing to do when
   * the execution holds no task `from`.
   */
  private replaceTask(x: string, from: string, to: string, fromTool: string, toTool: string, agentType: string | null): void {
    if (!this.s.taskHeld!.get(from, x)) return;
    // Calls still pending would be written under `from` after this.
    this.flushTools();
    const args = { x, from, to, from_tool: fromTool, to_tool: toTool, agent_type: agentType };
    for (const st of this.replacing) st.run(args);
  }

  private acc(id: string): ToolAcc {
    let a = this.tools.get(id);
    if (!a) {
      if (this.tools.size >= MAX_PENDING_TOOLS) this.flushTools();
      else if (this.pendingChars >= MAX_PENDING_CHARS) {
        // The calls that ended are written; those still running wait for their ends, so that
        // each is one insert rather than an insert and an update (and a second search document).
        this.flushTools(true);
        if (this.pendingChars >= MAX_PENDING_CHARS) this.flushTools();
      }
      a = newAcc(id);
      this.tools.set(id, a);
    }
    return a;
  }

  /** Writes the pending tool calls (`ended`: only those whose end came), and lets them go. */
  private flushTools(ended = false): void {
    let left = 0;
    for (const [key, a] of this.tools) {
      const done = a.start_time !== null && a.end_time !== null && a.result_status !== null && a.is_error !== null;
      if (ended && !done) {
        left += (a.input?.length ?? 0) + (a.output?.length ?? 0);
        continue;
      }
      this.tools.delete(key);
      if (done) {
        this.upsert("tool_uses", a.id, this.s.toolComplete,
          a.id, a.execution_id, a.task_id, a.transcript_entry_id, a.tool, a.tool_category, a.input, a.input_summary,
          a.result_status, a.output, a.output_summary, a.is_error, a.is_blocked ?? 0, a.block_reason, a.error_message,
          a.start_time, a.end_time, msBetween(a.start_time!, a.end_time!), a.within_skill, a.parent_tool_use_id, a.wave_id,
        );
      } else {
        this.upsert("tool_uses", a.id, this.s.tool, a);
      }
    }
    this.pendingChars = left;
  }

  /** Runs a write into an indexed table, and says so when it updated a row instead of inserting one. */
  private upsert(table: string, id: string, st: Tracked, ...args: unknown[]): void {
    const before = this.lastRowid;
    st.run(...args);
    if (this.lastRowid === before) this.updated(table, id);
  }

  /**
   * Ends a step of a long source: what is pending is written (finish), and the ids its rows
   * claimed are from now on looked up rather than remembered (see IdScope).
   */
  step(): void {
    this.finish();
    for (const scope of Object.values(this.ids)) scope.stepped();
  }

  /** Another program wrote to the file since the last step: every id is looked up again. */
  othersWrote(): void {
    for (const scope of Object.values(this.ids)) scope.othersWrote();
  }

  /**
   * Writes pending tool calls, then recomputes what depends on several lines: chain counts, a
   * skill's tool calls, and which copy of a thing several executions recorded is the owner.
   */
  finish(): void {
    this.flushTools();
    for (const id of this.touchedChains) this.s.chainRecount.run({ id });
    for (const id of this.touchedSkills) this.s.skillToolCalls.run({ id });
    for (const [table, ids] of this.shared) for (const key of ids) this.s[`replay_${table}`]!.run({ key });
    for (const key of this.responses) {
      if ((this.s.responseCount.get(key) as { n: number }).n > 1) this.s.replayByResponse.run({ key });
    }
    this.touchedChains.clear();
    this.touchedSkills.clear();
    for (const set of this.shared.values()) set.clear();
    this.responses.clear();
  }
}
