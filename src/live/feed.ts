import type { Statement } from "better-sqlite3";
import { openReadOnly, readsSnapshot, type DB } from "../db/open.js";
import { D007 } from "../queries/detection.js";
import { parseJson, runQuery } from "../queries/run.js";
import { tableExists } from "../queries/index.js";
import type { StreamEvent } from "./events.js";

/**
 * The one change feed `tail` and `serve` read from. It notices rows written by anyone — obs's
 * own ingest or another producer writing the tables directly — by checking PRAGMA data_version
 * (which moves when another connection commits) on a timer, and then reading only rows past
 * each table's rowid watermark. Rows that change in place (a tool call ending, a skill ending,
 * a wave or run changing status) are followed while they are open.
 */

type Row = Record<string, unknown>;
const s = (v: unknown) => (v === null || v === undefined ? undefined : String(v));

const TERMINAL = "('completed', 'failed')";

/**
 * What each table contributes: its rows (read by rowid, from a watermark, as they are committed),
 * and the time the backlog counts back by (`at`, indexed where the table grows large) with the
 * time of a row's last event when it can be later (`last`: a call's end).
 */
const SOURCES = {
  transcript_entries: { select: `SELECT rowid AS _rowid, * FROM transcript_entries`, at: "timestamp" },
  tool_uses: {
    select: `SELECT rowid AS _rowid, id, execution_id, task_id, tool, input_summary, result_status, output_summary, is_error, is_blocked,
                    block_reason, error_message, start_time, end_time, duration_ms,
                    (SELECT instance_id FROM transcript_entries te WHERE te.id = tool_uses.transcript_entry_id) AS instance_id
               FROM tool_uses`,
    at: "start_time", last: "end_time",
  },
  skill_traces: { select: `SELECT rowid AS _rowid, * FROM skill_traces`, at: "start_time", last: "end_time" },
  // An assertion's agent is its entry's (@agent_of is that lookup, or NULL where the file has no such link).
  assertion_results: { select: `SELECT rowid AS _rowid, *, @agent_of AS _instance_id FROM assertion_results`, at: "timestamp" },
  message_bus_log: { select: `SELECT rowid AS _rowid, * FROM message_bus_log`, at: "timestamp" },
  agent_heartbeats: { select: `SELECT rowid AS _rowid, * FROM agent_heartbeats`, at: "timestamp" },
} as const satisfies Record<string, { select: string; at: string; last?: string }>;
const ONE_EXEC = `(@exec IS NULL OR execution_id = @exec)`;
export type Source = keyof typeof SOURCES;

/**
 * The backlog's statements for one table, following one execution (`exec`) or all: the rows up to
 * the top it started from with an event from @floor on (`dated`), all of them (`all`), and the
 * time of the @n-th latest row (`nth`). The execution is written in, not left to "@exec IS NULL
 * OR", so its index is used, and bounds what is read. Following all, the rows are picked by
 * rowid from the indexes on their times (migration 7 added a call's end and a skill's start and
 * end): asked as "at >= @floor OR last >= @floor", SQLite walks the rowids up to @top instead,
 * every row of the table. (assertion_results and agent_heartbeats have no index on their time
 * yet, so their pick is still a scan of the table.)
 */
export function backlogSql(table: Source, exec: string | null, agentOf = "NULL"): { dated: string; all: string; nth: string } {
  const src: { select: string; at: string; last?: string } = SOURCES[table];
  const select = src.select.replace("@agent_of", agentOf);
  const scope = exec === null ? "1" : "execution_id = @exec";
  const times = [src.at, ...(src.last ? [src.last] : [])];
  const dated = exec === null
    ? `rowid IN (${times.map((t) => `SELECT rowid FROM ${table} WHERE ${t} >= @floor`).join(" UNION ALL ")})`
    : `(${times.map((t) => `${t} >= @floor`).join(" OR ")})`;
  return {
    dated: `${select} WHERE ${dated} AND rowid <= @top AND ${scope} ORDER BY rowid`,
    all: `${select} WHERE rowid <= @top AND ${scope} ORDER BY rowid`,
    nth: `SELECT ${src.at} FROM ${table} WHERE ${src.at} IS NOT NULL AND ${scope} ORDER BY ${src.at} DESC LIMIT 1 OFFSET @n`,
  };
}

export interface FeedOptions {
  /** Only this execution's events (all executions when absent). */
  executionId?: string | null;
  /** Also report when an agent's repeated calls become a loop (D007, run on the executions with new tool calls). */
  loops?: boolean;
}

/**
 * D007 looks at the executions with new tool calls in the same poll that read the calls, so a
 * marker comes right after the call that made the loop. It reads the execution's every call,
 * though, so after a look that took t ms it waits LOOP_SPACING × t before the next: on a run
 * of a few hundred calls (a look of a millisecond or two) that is every poll with new calls; on
 * one of tens of thousands the marker may come a moment later, and D007 still takes no more
 * than a fifth of the feed's time.
 */
const LOOP_SPACING = 4;

export class ChangeFeed {
  private readonly db: DB;
  private readonly exec: string | null;
  private readonly marks = new Map<Source, number>();
  private readonly stmts = new Map<Source, Statement>();
  private readonly backlogStmts = new Map<Source, { dated: Statement; all: Statement; nth: Statement }>();
  private readonly openTools = new Map<string, Row>();
  private readonly openSkills = new Map<string, Row>();
  private readonly waveState = new Map<string, string>();
  private readonly runState = new Map<string, string>();
  private readonly passCounts = new Map<string, { pass: number; counted: number }>();
  private version = -1;
  private timer: NodeJS.Timeout | undefined;
  private readonly loops: boolean;
  /** Executions with tool calls D007 has not looked at yet (with the earliest of them), and the loops already known. */
  private readonly loopPending = new Map<string, string>();
  private readonly loopsSeen = new Set<string>();
  private loopCheckedAt = 0;
  private loopCost = 0;
  private readonly waves: Statement | undefined;
  private readonly runs: Statement | undefined;
  private readonly recheckTool: Statement | undefined;
  private readonly recheckSkill: Statement | undefined;

  constructor(
    readonly dbPath: string,
    opts: FeedOptions = {},
  ) {
    this.db = openReadOnly(dbPath);
    this.exec = opts.executionId ?? null;
    const linked = (this.db.prepare(`SELECT name FROM pragma_table_info('assertion_results')`).pluck().all() as string[]).includes("transcript_entry_id");
    const agentOf = linked && tableExists(this.db, "transcript_entries")
      ? "(SELECT instance_id FROM transcript_entries te WHERE te.id = assertion_results.transcript_entry_id)"
      : "NULL";
    this.loops = Boolean(opts.loops);
    for (const [table, src] of Object.entries(SOURCES) as [Source, (typeof SOURCES)[Source]][]) {
      if (!tableExists(this.db, table)) continue;
      const select = src.select.replace("@agent_of", agentOf);
      this.stmts.set(table, this.db.prepare(`${select} WHERE rowid > @mark AND ${ONE_EXEC} ORDER BY rowid LIMIT 5000`));
      const sql = backlogSql(table, this.exec, agentOf);
      this.backlogStmts.set(table, { dated: this.db.prepare(sql.dated), all: this.db.prepare(sql.all), nth: this.db.prepare(sql.nth).pluck() });
    }
    if (tableExists(this.db, "parallel_execution_waves") && tableExists(this.db, "wave_task_assignments") && tableExists(this.db, "tasks")) {
      // Waves that are new or not yet finished (few rows), and by id those we saw open, which may
      // have finished since.
      const select = `
        SELECT w.id, w.execution_run_id AS execution_id, w.wave_number, w.status, COALESCE(w.completed_at, w.started_at) AS at,
               (SELECT COUNT(*) FROM wave_task_assignments a WHERE a.wave_id = w.id) AS task_count,
               (SELECT COUNT(*) FROM wave_task_assignments a JOIN tasks t ON t.id = a.task_id WHERE a.wave_id = w.id AND t.status = 'completed') AS completed_count,
               (SELECT COUNT(*) FROM wave_task_assignments a JOIN tasks t ON t.id = a.task_id WHERE a.wave_id = w.id AND t.status = 'failed') AS failed_count
          FROM parallel_execution_waves w`;
      this.waves = this.db.prepare(`${select}
         WHERE (@exec IS NULL OR w.execution_run_id = @exec)
           AND (w.status IS NULL OR w.status NOT IN ${TERMINAL} OR w.rowid > @mark)`);
      this.waveById = this.db.prepare(`${select} WHERE w.id = ?`);
    }
    if (tableExists(this.db, "task_list_execution_runs")) {
      // Runs are few and change in place (any status to any other), so the followed ones are
      // read whole each time something was committed. obs records when a status was set.
      const cols = (this.db.prepare(`SELECT name FROM pragma_table_info('task_list_execution_runs')`).all() as { name: string }[]).map((c) => c.name);
      const at = cols.includes("status_at") ? "COALESCE(status_at, completed_at, started_at)" : "COALESCE(completed_at, started_at)";
      const message = cols.includes("message") ? "message" : "NULL AS message";
      this.runs = this.db.prepare(`
        SELECT id, status, ${message}, ${at} AS at
          FROM task_list_execution_runs
         WHERE @exec IS NULL OR id = @exec`);
    }
    if (this.stmts.has("tool_uses")) {
      this.recheckTool = this.db.prepare(`SELECT id, result_status, output_summary, is_error, is_blocked, block_reason, error_message, end_time, duration_ms FROM tool_uses WHERE id = ?`);
    }
    if (this.stmts.has("skill_traces")) {
      this.recheckSkill = this.db.prepare(`SELECT id, status, error_message, end_time, duration_ms FROM skill_traces WHERE id = ?`);
    }
    if (this.stmts.has("assertion_results")) {
      this.passSoFar = this.db.prepare(`
        SELECT COALESCE(SUM(result = 'pass'), 0) AS pass, COALESCE(SUM(result <> 'skip'), 0) AS counted
          FROM assertion_results WHERE execution_id = @exec AND rowid < @rowid`);
    }
  }

  /** True when the file can only be read as it is now (it and its directory are read-only to us): nothing new will come. */
  get snapshot(): boolean {
    return readsSnapshot(this.db);
  }

  private waveMark = 0;
  private readonly waveById: Statement | undefined;
  private readonly passSoFar: Statement | undefined;

  private maxRowid(table: string): number {
    return ((this.db.prepare(`SELECT MAX(rowid) AS m FROM "${table}"`).get() as { m: number | null }).m ?? 0) as number;
  }

  /**
   * The most recent `limit` events already in the database that `keep` takes (or all it takes
   * since `since`), oldest first, by when they happened; afterwards only new ones are reported.
   * Rows are not committed in time order (a file of last month ingested after today's run), so
   * the backlog counts back by time: from a moment by which one table alone has `back` rows,
   * it reads every row with an event from then on — runs and waves whole — and keeps what is
   * from then on. A filter that takes few events reads further back, four times as far each
   * time, until it has `limit` or has read all.
   */
  backlog(limit: number, since?: string, keep: (e: StreamEvent) => boolean = () => true): StreamEvent[] {
    const tops = new Map([...this.stmts.keys()].map((t) => [t, this.maxRowid(t)] as const));
    for (let back = limit * 4; ; back *= 4) {
      this.forget();
      const floor = since ?? this.floorFor(back);
      const read = this.readFrom(floor, tops);
      // Loops already under way in what the backlog covers, in time order with the rest.
      read.push(...this.loopEvents(true));
      read.sort((x, y) => (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : 0));
      // Before the floor not every row was read, so only what is from it on is the whole story.
      const events = read.filter((e) => (floor === null || e.timestamp >= floor) && keep(e));
      if (since) return events;
      if (events.length >= limit || floor === null) return events.slice(-limit);
    }
  }

  /** The latest time by which some table has `n` rows of its own, or null when none has that many (then all is read). */
  private floorFor(n: number): string | null {
    let floor: string | null = null;
    for (const { nth } of this.backlogStmts.values()) {
      const t = nth.get({ n: n - 1, exec: this.exec }) as string | undefined;
      if (t !== undefined && t !== null && (floor === null || t > floor)) floor = t;
    }
    return floor;
  }

  /** The rows with an event from `floor` on (every row when null) up to `tops`, the waves and runs; the watermarks end at the tops. */
  private readFrom(floor: string | null, tops: Map<Source, number>): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (const [table, top] of tops) this.marks.set(table, top);
    // Calls and skills still open from before the floor: their ends are still to be reported.
    this.primeOpen();
    for (const [table, top] of tops) {
      const stmts = this.backlogStmts.get(table)!;
      const rows = (floor === null ? stmts.all.all({ top, exec: this.exec }) : stmts.dated.all({ top, floor, exec: this.exec })) as Row[];
      for (const r of rows) this.rowEvents(table, r, out);
    }
    // A wave's row changes in place as it ends, so an old row can carry a new status: all are read.
    this.waveMark = 0;
    this.readStatuses(out);
    return out;
  }

  /** What earlier reads learnt, so a wider backlog reads the same rows afresh. */
  private forget(): void {
    this.openTools.clear();
    this.openSkills.clear();
    this.waveState.clear();
    this.runState.clear();
    this.passCounts.clear();
    this.loopPending.clear();
    this.loopsSeen.clear();
  }

  /** How the run ended ("completed", "failed"), as the feed last read it; null while it is not over or unknown. */
  ended(executionId: string): string | null {
    const st = this.runState.get(executionId);
    return st === "completed" || st === "failed" ? st : null;
  }

  /** Starts from now: only rows committed from here on are reported. */
  skipToEnd(): void {
    for (const table of this.stmts.keys()) this.marks.set(table, this.maxRowid(table));
    this.primeOpen();
    // Learn the current wave and run statuses without reporting them.
    this.read();
  }

  /**
   * Loops (D007) in the executions that had new tool calls since the last look, each reported
   * once, at the call that made it one — which is one of the new calls; a loop that became one
   * before them is old news. Not sooner than LOOP_SPACING looks' time after the last, unless `now`.
   */
  private loopEvents(now = false): StreamEvent[] {
    if (!this.loops || !this.loopPending.size) return [];
    if (!now && Date.now() - this.loopCheckedAt < LOOP_SPACING * this.loopCost) return [];
    const began = performance.now();
    const params: Record<string, unknown> = Object.fromEntries((D007.options ?? []).map((o) => [o.name, o.default]));
    const minCalls = Number(params.min_calls);
    const out: StreamEvent[] = [];
    for (const [executionId, newFrom] of this.loopPending) {
      const r = runQuery(this.db, D007, { ...params, execution_id: executionId });
      for (const l of r.rows) {
        const key = `${executionId}\u0000${l.instance_id ?? ""}\u0000${l.first_tool_use_id}`;
        if (this.loopsSeen.has(key)) continue;
        this.loopsSeen.add(key);
        if (l.detected_at < newFrom) continue;
        out.push({
          type: "loop:start", timestamp: l.detected_at, executionId, ...(l.instance_id ? { instanceId: l.instance_id } : {}), tool: l.tool,
          inputSummary: l.input_summary ?? "", calls: minCalls, firstAt: l.first_at, firstToolUseId: l.first_tool_use_id,
          toolUseId: l.detected_tool_use_id, inARow: l.in_a_row === 1,
        });
      }
    }
    this.loopPending.clear();
    this.loopCost = performance.now() - began;
    this.loopCheckedAt = Date.now();
    return out;
  }

  /** Tool calls and skills already running when we attach will still have their end reported. */
  private primeOpen(): void {
    if (this.stmts.has("tool_uses")) {
      const rows = this.db.prepare(`SELECT id, execution_id, task_id, tool,
                                            (SELECT instance_id FROM transcript_entries te WHERE te.id = tool_uses.transcript_entry_id) AS instance_id
                                       FROM tool_uses
                                     WHERE result_status IS NULL AND start_time IS NOT NULL AND rowid <= @mark
                                       AND (@exec IS NULL OR execution_id = @exec)`).all({ exec: this.exec, mark: this.marks.get("tool_uses") ?? 0 }) as Row[];
      for (const r of rows) this.openTools.set(String(r.id), r);
    }
    if (this.stmts.has("skill_traces")) {
      const rows = this.db.prepare(`SELECT * FROM skill_traces
                                     WHERE status IS NULL AND rowid <= @mark AND (@exec IS NULL OR execution_id = @exec)`).all({ exec: this.exec, mark: this.marks.get("skill_traces") ?? 0 }) as Row[];
      for (const r of rows) this.openSkills.set(String(r.id), r);
    }
  }

  /** New events since the last call, or [] when nothing was committed since (cheap: one pragma). */
  poll(): StreamEvent[] {
    const v = this.db.pragma("data_version", { simple: true }) as number;
    const events = v === this.version ? [] : this.read();
    this.version = v;
    // A loop's marker goes right after the call that made it one when that call is in this batch
    // (a look put off by D007's cost comes later, after what landed meanwhile, even if nothing more lands).
    for (const loop of this.loopEvents()) {
      const call = loop.type === "loop:start" ? loop.toolUseId : undefined;
      const at = events.findIndex((e) => e.type === "tool:start" && e.toolUseId === call);
      events.splice(at < 0 ? events.length : at + 1, 0, loop);
    }
    return events;
  }

  /** Calls `onEvents` with each batch of new events, checking every `intervalMs`. */
  start(onEvents: (events: StreamEvent[]) => void, intervalMs = 10): void {
    this.version = this.db.pragma("data_version", { simple: true }) as number;
    this.timer = setInterval(() => {
      const events = this.poll();
      if (events.length) onEvents(events);
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.db.close();
  }

  private read(): StreamEvent[] {
    const out: StreamEvent[] = [];
    const exec = this.exec;
    for (const [table, stmt] of this.stmts) {
      // Follow a table until it has nothing past its watermark (a big commit arrives in pages).
      for (;;) {
        const rows = stmt.all({ mark: this.marks.get(table) ?? 0, exec }) as Row[];
        if (!rows.length) break;
        for (const r of rows) this.rowEvents(table, r, out);
        this.marks.set(table, rows[rows.length - 1]!._rowid as number);
        if (rows.length < 5000) break;
      }
    }
    this.recheckOpen(out);
    this.readStatuses(out);
    // Interleave the tables by when things happened; a stable sort keeps each table's order.
    return out.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  }

  /** Waves and runs whose status changed since they were last read. */
  private readStatuses(out: StreamEvent[]): void {
    const exec = this.exec;
    if (this.waves) {
      const seenOpen = [...this.waveState].filter(([, st]) => st !== "completed" && st !== "failed").map(([id]) => id);
      const rows = this.waves.all({ exec, mark: this.waveMark }) as Row[];
      const listed = new Set(rows.map((w) => String(w.id)));
      for (const id of seenOpen) {
        if (listed.has(id)) continue;
        const w = this.waveById!.get(id) as Row | undefined;
        if (w) rows.push(w);
      }
      for (const w of rows) {
        const key = String(w.id);
        const status = s(w.status) ?? "pending";
        if (this.waveState.get(key) === status) continue;
        this.waveState.set(key, status);
        out.push({
          type: "wave:status", timestamp: s(w.at) ?? "", executionId: s(w.execution_id) ?? "", waveNumber: Number(w.wave_number),
          status, taskCount: Number(w.task_count), completedCount: Number(w.completed_count), failedCount: Number(w.failed_count),
        });
      }
      this.waveMark = this.maxRowid("parallel_execution_waves");
    }
    if (this.runs) {
      for (const r of this.runs.all({ exec }) as Row[]) {
        const key = String(r.id);
        const status = s(r.status) ?? "unknown";
        if (this.runState.get(key) === status) continue;
        this.runState.set(key, status);
        out.push({ type: "execution:status", timestamp: s(r.at) ?? "", executionId: key, status, ...(r.message ? { message: String(r.message) } : {}) });
      }
    }
  }

  private rowEvents(table: Source, r: Row, out: StreamEvent[]): void {
    const executionId = s(r.execution_id) ?? "";
    switch (table) {
      case "transcript_entries":
        out.push({
          type: "transcript:entry", timestamp: String(r.timestamp), executionId, isLatest: true,
          entry: {
            id: String(r.id), timestamp: String(r.timestamp), sequence: Number(r.sequence), executionId, taskId: s(r.task_id) ?? null,
            instanceId: s(r.instance_id) ?? null, waveNumber: r.wave_number === null ? null : Number(r.wave_number), entryType: String(r.entry_type),
            category: s(r.category) ?? null, summary: s(r.summary) ?? null, details: parseJson(r.details), durationMs: (r.duration_ms as number | null) ?? null,
          },
        });
        return;
      case "tool_uses":
        if (this.loops && r.start_time) {
          const from = this.loopPending.get(executionId);
          if (from === undefined || String(r.start_time) < from) this.loopPending.set(executionId, String(r.start_time));
        }
        if (r.start_time) {
          out.push({
            type: "tool:start", timestamp: String(r.start_time), executionId, toolUseId: String(r.id), tool: s(r.tool) ?? "?",
            inputSummary: s(r.input_summary) ?? "", ...(r.task_id ? { taskId: String(r.task_id) } : {}), ...(r.instance_id ? { instanceId: String(r.instance_id) } : {}),
          });
        }
        if (r.result_status) out.push(this.toolEnd(r));
        else this.openTools.set(String(r.id), r);
        return;
      case "skill_traces":
        if (r.start_time) {
          out.push({
            type: "skill:start", timestamp: String(r.start_time), executionId, skillTraceId: String(r.id), skillName: s(r.skill_name) ?? "?",
            skillFile: s(r.skill_file) ?? "", lineNumber: Number(r.line_number ?? 0), ...(r.task_id ? { taskId: String(r.task_id) } : {}),
            ...(r.instance_id ? { instanceId: String(r.instance_id) } : {}),
          });
        }
        if (r.status) out.push(this.skillEnd(r, r));
        else this.openSkills.set(String(r.id), r);
        return;
      case "assertion_results": {
        // The running pass rate counts the execution's whole history, not just what we have seen.
        const counts = this.passCounts.get(executionId) ?? ({ ...(this.passSoFar!.get({ exec: executionId, rowid: r._rowid }) as { pass: number; counted: number }) });
        if (r.result !== "skip") counts.counted++;
        if (r.result === "pass") counts.pass++;
        this.passCounts.set(executionId, counts);
        out.push({
          type: "assertion:result", timestamp: String(r.timestamp), executionId, taskId: s(r.task_id) ?? "",
          assertion: {
            id: String(r.id), taskId: s(r.task_id) ?? "", executionId, chainId: s(r.chain_id) ?? null, category: s(r.category) ?? "",
            description: s(r.description) ?? "", result: s(r.result) ?? "", evidence: parseJson(r.evidence), timestamp: String(r.timestamp),
            durationMs: (r.duration_ms as number | null) ?? null,
          },
          runningPassRate: counts.counted ? counts.pass / counts.counted : 1,
          ...(r._instance_id ? { instanceId: String(r._instance_id) } : {}),
        });
        return;
      }
      case "message_bus_log":
        out.push({
          type: "messagebus:event", timestamp: String(r.timestamp), executionId: executionId || "global",
          entry: {
            id: String(r.id), eventId: s(r.event_id) ?? null, timestamp: String(r.timestamp), source: s(r.source) ?? null, eventType: s(r.event_type) ?? null,
            correlationId: s(r.correlation_id) ?? null, humanSummary: s(r.human_summary) ?? null, severity: s(r.severity) ?? null, category: s(r.category) ?? null,
            taskId: s(r.task_id) ?? null, executionId: s(r.execution_id) ?? null, payload: parseJson(r.payload),
          },
          requiresAction: r.severity === "error" || r.severity === "critical",
        });
        return;
      case "agent_heartbeats":
        out.push({
          type: "agent:heartbeat", timestamp: String(r.timestamp), executionId, instanceId: s(r.instance_id) ?? "", status: s(r.status) ?? "",
          ...(r.current_task_id ? { currentTaskId: String(r.current_task_id) } : {}), ...(r.metrics ? { metrics: parseJson(r.metrics) } : {}),
        });
        return;
    }
  }

  private toolEnd(r: Row): StreamEvent {
    return {
      type: "tool:end", timestamp: s(r.end_time) ?? s(r.start_time) ?? "", executionId: s(r.execution_id) ?? "", toolUseId: String(r.id),
      ...(r.tool ? { tool: String(r.tool) } : {}), resultStatus: (s(r.result_status) ?? "done") as "done" | "error" | "blocked",
      durationMs: (r.duration_ms as number | null) ?? null, ...(r.output_summary ? { outputSummary: String(r.output_summary) } : {}),
      isError: r.is_error === 1, isBlocked: r.is_blocked === 1, ...(r.task_id ? { taskId: String(r.task_id) } : {}),
      ...(r.error_message ? { errorMessage: String(r.error_message) } : {}), ...(r.block_reason ? { blockReason: String(r.block_reason) } : {}),
      ...(r.instance_id ? { instanceId: String(r.instance_id) } : {}),
    };
  }

  private skillEnd(start: Row, r: Row): StreamEvent {
    return {
      type: "skill:end", timestamp: s(r.end_time) ?? "", executionId: s(start.execution_id) ?? "", skillTraceId: String(start.id),
      skillName: s(start.skill_name) ?? "?", status: r.status as "success" | "partial" | "failed", durationMs: (r.duration_ms as number | null) ?? null,
      ...(start.task_id ? { taskId: String(start.task_id) } : {}), ...(r.error_message ? { error: String(r.error_message) } : {}),
      ...(start.instance_id ? { instanceId: String(start.instance_id) } : {}),
    };
  }

  /** Open tool calls and skills change in place when they end; look at each again. */
  private recheckOpen(out: StreamEvent[]): void {
    for (const [id, start] of this.openTools) {
      const now = this.recheckTool!.get(id) as Row | undefined;
      if (now?.result_status) {
        out.push(this.toolEnd({ ...start, ...now }));
        this.openTools.delete(id);
      }
    }
    for (const [id, start] of this.openSkills) {
      const now = this.recheckSkill!.get(id) as Row | undefined;
      if (now?.status) {
        out.push(this.skillEnd(start, now));
        this.openSkills.delete(id);
      }
    }
  }
}
