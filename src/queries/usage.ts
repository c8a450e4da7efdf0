import { ERROR_FACTS_CTE, ERROR_FACTS_OPTIONAL, needs } from "./fragments.js";
import type { Query } from "./types.js";

/**
 * U — Usage: what runs cost, across every execution in the file, as cost tools report it (by
 * day, week, month, session, project, model, agent, tool; in 5-hour billing windows), and who
 * spent what within one run. Spending is each execution's own: a model call another execution
 * carries again (replay_of: a resumed or forked session) is the owner's, so every API response
 * is counted once; what is carried is reported apart as replayed_*.
 */

/** The keys a usage report groups by, in the order `--by` lists them. */
export const USAGE_KEYS = ["day", "week", "month", "session", "project", "model", "agent", "tool"] as const;
export type UsageKey = (typeof USAGE_KEYS)[number];
/** How many keys one report groups by at most (the SQL has a slot for each). */
export const MAX_KEYS = 4;
export const TIME_KEYS: readonly UsageKey[] = ["day", "week", "month"];

/**
 * What kind of agent made a call: its recorded type (main, a subagent's type, compaction,
 * workflow:<name>), else what its id says — Claude Code's <session>/main and subagent ids, or an
 * id without its number (agent-103-09 → agent) — NULL for a call no agent is named for.
 */
const AGENT_KEY = (instance: string, type: string) => `
  CASE
    WHEN ${instance} IS NULL                        THEN NULL
    WHEN ${type} IS NOT NULL AND ${type} <> ''      THEN ${type}
    WHEN ${instance} LIKE '%/main'                  THEN 'main'
    WHEN ${instance} LIKE '%/acompact%'             THEN 'compaction'
    WHEN ${instance} LIKE '%/%'                     THEN 'subagent'
    ELSE COALESCE(NULLIF(rtrim(${instance}, '0123456789-_.:'), ''), ${instance})
  END`;

/** One time form for every producer's timestamps, so they compare as text. */
const ISO = (t: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${t})`;

/** The value of the key named by a slot parameter (@by_1 …), from the local time and a fact's fields. */
const KEY = (slot: string) => `
         CASE @${slot}
           WHEN 'day'     THEN date(local_at)
           WHEN 'week'    THEN date(local_at, '-6 days', 'weekday 1')
           WHEN 'month'   THEN strftime('%Y-%m', local_at)
           WHEN 'session' THEN execution_id
           WHEN 'project' THEN project
           WHEN 'model'   THEN model
           WHEN 'agent'   THEN agent
           WHEN 'tool'    THEN tool
         END`;

const SLOTS = Array.from({ length: MAX_KEYS }, (_, i) => `by_${i + 1}`);
const SLOT_LIST = SLOTS.map((s) => `@${s}`).join(", ");
const TIME_KEY_LIST = TIME_KEYS.map((k) => `'${k}'`).join(", ");

/** The tables a usage report reads, every one optional: a database lacking one has none of its facts. */
const FACTS_OPTIONAL = needs(ERROR_FACTS_OPTIONAL, {
  llm_calls: ["execution_id", "model", "instance_id", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "cost_usd", "start_time", "end_time", "replay_of"],
  tool_uses: ["execution_id", "tool", "start_time", "transcript_entry_id", "replay_of"],
  transcript_entries: ["id", "instance_id"],
  build_agent_instances: ["id", "agent_type"],
  task_list_execution_runs: ["id", "task_list_id", "cwd"],
});

/** A fact's time is within the window asked for (@since, @until: UTC). */
const IN_WINDOW = (t: string) => `(@since IS NULL OR ${t} >= @since) AND (@until IS NULL OR ${t} < @until)`;

/**
 * What a usage report counts, scoped by @since/@until (UTC), @execution_id and @project, with
 * each fact's local time in the zone whose offsets @tz_offsets lists as [[from, to, minutes], …]
 * (worked out by the caller: SQLite has no time zone database). Model calls and errors are one
 * fact each; tool calls, the many, are counted per execution, agent, tool and minute first (a
 * zone is a whole number of minutes off UTC, so a minute falls on one local day).
 */
const FACTS_CTE = `
  ${ERROR_FACTS_CTE},
  runs AS (
    SELECT id AS execution_id, COALESCE(task_list_id, cwd) AS project FROM task_list_execution_runs
  ),
  zone AS MATERIALIZED (
    SELECT json_extract(value, '$[0]') AS from_at, json_extract(value, '$[1]') AS to_at, json_extract(value, '$[2]') AS offset_min
      FROM json_each(@tz_offsets)
  ),
  asked AS (
    SELECT 'model' IN (${SLOT_LIST}) AS by_model, 'tool' IN (${SLOT_LIST}) AS by_tool, 'agent' IN (${SLOT_LIST}) AS by_agent
  ),
  -- The agent of a tool call is looked up, and its tool kept, only when a report is by them.
  own_tool_calls AS (
    SELECT tu.execution_id, tu.start_time,
           CASE WHEN asked.by_tool THEN COALESCE(tu.tool, 'unknown') END AS tool,
           CASE WHEN asked.by_agent THEN (SELECT te.instance_id FROM transcript_entries te WHERE te.id = tu.transcript_entry_id) END AS instance_id
      FROM tool_uses tu, asked
     WHERE tu.replay_of IS NULL
       AND (@execution_id IS NULL OR tu.execution_id = @execution_id)
       AND ${IN_WINDOW(ISO("tu.start_time"))}
  ),
  -- Counted by the minute as written, made one form after (far fewer rows than calls).
  tool_counts AS (
    SELECT execution_id, instance_id, tool, strftime('%Y-%m-%dT%H:%M:00.000Z', minute) AS minute,
           ${ISO("first_at")} AS first_at, ${ISO("last_at")} AS last_at, n
      FROM (SELECT execution_id, instance_id, tool, substr(start_time, 1, 16) AS minute,
                   MIN(start_time) AS first_at, MAX(start_time) AS last_at, COUNT(*) AS n
              FROM own_tool_calls
             GROUP BY execution_id, instance_id, tool, minute)
  ),
  raw_facts AS (
    -- Model calls, replayed ones too: they are counted apart, never in the totals.
    SELECT 'model_call' AS kind, execution_id, at, at AS first_at, at AS last_at, 1 AS n, model, instance_id, NULL AS tool,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd, replay_of
      FROM (SELECT l.*, ${ISO("COALESCE(l.end_time, l.start_time)")} AS at, COALESCE(l.model, 'unknown') AS model FROM llm_calls l)
     WHERE ${IN_WINDOW("at")}
    UNION ALL
    SELECT 'tool_call', execution_id, minute, first_at, last_at, n, NULL, instance_id, tool, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM tool_counts
    UNION ALL
    SELECT 'error', execution_id, at, at, at, 1, NULL, instance_id, tool, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM (SELECT e.*, ${ISO("e.occurred_at")} AS at FROM error_facts e)
     WHERE ${IN_WINDOW("at")}
  ),
  facts AS MATERIALIZED (
    SELECT f.*,
           r.project,
           ${AGENT_KEY("f.instance_id", "ag.agent_type")} AS agent,
           datetime(f.at, printf('%+d minutes', z.offset_min)) AS local_at
      FROM raw_facts f
      LEFT JOIN runs r                   ON r.execution_id = f.execution_id
      LEFT JOIN build_agent_instances ag ON ag.id = f.instance_id
      LEFT JOIN zone z                   ON f.at >= z.from_at AND f.at < z.to_at
     WHERE (@execution_id IS NULL OR f.execution_id = @execution_id)
       AND (@project IS NULL OR r.project = @project)
  )`;

/** The figures of a group of facts (own model calls' tokens and cost, calls, tool calls, errors, what is replayed). */
const FIGURES = `
             MIN(CASE WHEN replay_of IS NULL THEN first_at END)                                    AS first_at,
             MAX(CASE WHEN replay_of IS NULL THEN last_at END)                                     AS last_at,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL THEN input_tokens END)          AS input_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL THEN output_tokens END)         AS output_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL THEN cache_read_tokens END)     AS cache_read_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL THEN cache_write_tokens END)    AS cache_write_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL THEN cache_write_1h_tokens END) AS cache_write_1h_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL
                      THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) + COALESCE(cache_read_tokens, 0)
                         + COALESCE(cache_write_tokens, 0) + COALESCE(cache_write_1h_tokens, 0) END)  AS total_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NULL THEN cost_usd END)              AS cost_usd,
             COALESCE(SUM(kind = 'model_call' AND replay_of IS NULL), 0)                           AS model_calls,
             COALESCE(SUM(kind = 'model_call' AND replay_of IS NULL AND cost_usd IS NULL), 0)      AS unpriced_calls,
             COALESCE(SUM(CASE WHEN kind = 'tool_call' THEN n END), 0)                             AS tool_calls,
             COALESCE(SUM(CASE WHEN kind = 'error' THEN n END), 0)                                 AS errors,
             COALESCE(SUM(kind = 'model_call' AND replay_of IS NOT NULL), 0)                       AS replayed_model_calls,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NOT NULL
                      THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) + COALESCE(cache_read_tokens, 0)
                         + COALESCE(cache_write_tokens, 0) + COALESCE(cache_write_1h_tokens, 0) END)  AS replayed_tokens,
             SUM(CASE WHEN kind = 'model_call' AND replay_of IS NOT NULL THEN cost_usd END)          AS replayed_cost_usd,
             SUM(n)                                                                                AS fact_count`;

const FIGURE_COLUMNS = `first_at, last_at, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
           total_tokens, cost_usd`;

export interface UsageRow {
  key_1: string | null; key_2: string | null; key_3: string | null; key_4: string | null;
  /** The last row: every fact of the window, whatever the keys. */
  is_total: boolean;
  first_at: string | null; last_at: string | null;
  input_tokens: number | null; output_tokens: number | null; cache_read_tokens: number | null;
  /** 5-minute cache writes. */
  cache_write_tokens: number | null; cache_write_1h_tokens: number | null;
  /** Every kind of token above, summed. */
  total_tokens: number | null;
  /** The calls whose price is known; unpriced_calls says how many are not. */
  cost_usd: number | null;
  /** Null when grouped by tool: no tool makes a model call. */
  model_calls: number | null; unpriced_calls: number | null;
  /** Null when grouped by model: a tool call or error is no model's. */
  tool_calls: number | null; errors: number | null;
  replayed_model_calls: number; replayed_tokens: number | null; replayed_cost_usd: number | null;
}

/** `obs usage`: tokens, cost, model calls, tool calls and errors, grouped by up to four keys, and the total. */
export const U001: Query<UsageRow> = {
  id: "U001",
  family: "Usage",
  title: "Usage",
  description:
    "Tokens (input, output, cache read, cache write 5-minute and 1-hour), cost, model calls, tool calls and errors of every execution's own work, " +
    "grouped by the keys in @by_1…@by_4 (day, week, month in the zone, session, project, model, agent, tool; '' for none), then the total. " +
    "A fact lacking a key asked for (a tool call has no model, a model call no tool) is left out of the rows, and its columns are null; the total has every fact.",
  arg: "none",
  needs: {},
  optional: FACTS_OPTIONAL,
  sql: `
    WITH ${FACTS_CTE},
    keyed AS (
      SELECT f.*, ${SLOTS.map((s, i) => `${KEY(s)} AS key_${i + 1}`).join(",\n")}
        FROM facts f, asked
       WHERE (NOT asked.by_model OR f.kind = 'model_call')
         AND (NOT asked.by_tool OR f.tool IS NOT NULL)
    ),
    grouped AS (
      SELECT key_1, key_2, key_3, key_4, ${FIGURES}
        FROM keyed
       GROUP BY key_1, key_2, key_3, key_4
    ),
    -- Time keys read in time order; any other key by what its group spent (cost, then how much
    -- it did), biggest first, each level within the one before; a group with no key value last.
    weighed AS (
      SELECT g.*,
             SUM(COALESCE(cost_usd, 0)) OVER (PARTITION BY key_1)               AS cost_1,
             SUM(fact_count)            OVER (PARTITION BY key_1)               AS facts_1,
             SUM(COALESCE(cost_usd, 0)) OVER (PARTITION BY key_1, key_2)        AS cost_2,
             SUM(fact_count)            OVER (PARTITION BY key_1, key_2)        AS facts_2,
             SUM(COALESCE(cost_usd, 0)) OVER (PARTITION BY key_1, key_2, key_3) AS cost_3,
             SUM(fact_count)            OVER (PARTITION BY key_1, key_2, key_3) AS facts_3
        FROM grouped g
    ),
    ranked AS (
      SELECT w.*,
             ROW_NUMBER() OVER (ORDER BY
               key_1 IS NULL, CASE WHEN @by_1 IN (${TIME_KEY_LIST}) THEN key_1 END, cost_1 DESC, facts_1 DESC, key_1,
               key_2 IS NULL, CASE WHEN @by_2 IN (${TIME_KEY_LIST}) THEN key_2 END, cost_2 DESC, facts_2 DESC, key_2,
               key_3 IS NULL, CASE WHEN @by_3 IN (${TIME_KEY_LIST}) THEN key_3 END, cost_3 DESC, facts_3 DESC, key_3,
               key_4 IS NULL, CASE WHEN @by_4 IN (${TIME_KEY_LIST}) THEN key_4 END, COALESCE(cost_usd, 0) DESC, fact_count DESC, key_4) AS place
        FROM weighed w
    ),
    total AS (
      SELECT ${FIGURES} FROM facts
    )
    SELECT 0 AS is_total, place, key_1, key_2, key_3, key_4, ${FIGURE_COLUMNS},
           CASE WHEN asked.by_tool  THEN NULL ELSE model_calls END    AS model_calls,
           CASE WHEN asked.by_tool  THEN NULL ELSE unpriced_calls END AS unpriced_calls,
           CASE WHEN asked.by_model THEN NULL ELSE tool_calls END     AS tool_calls,
           CASE WHEN asked.by_model THEN NULL ELSE errors END         AS errors,
           replayed_model_calls, replayed_tokens, replayed_cost_usd
      FROM ranked, asked
    UNION ALL
    SELECT 1, 0, NULL, NULL, NULL, NULL, ${FIGURE_COLUMNS},
           model_calls, unpriced_calls, tool_calls, errors, replayed_model_calls, replayed_tokens, replayed_cost_usd
      FROM total
     WHERE total.fact_count > 0
     ORDER BY is_total, place`,
  shape: (r) => {
    const { place: _place, ...row } = r;
    return { ...row, is_total: r.is_total === 1 } as unknown as UsageRow;
  },
};

export interface UsageSpanRow { first_at: string | null; last_at: string | null }
/** The first and last moment any fact was recorded: where a zone's offsets must be known. */
export const U000: Query<UsageSpanRow> = {
  id: "U000",
  family: "Usage",
  title: "Usage span",
  description: "The earliest and latest time of a model call, tool call or transcript entry in the database.",
  arg: "none",
  needs: {},
  optional: {
    llm_calls: ["start_time", "end_time"],
    tool_uses: ["start_time"],
    transcript_entries: ["timestamp"],
  },
  sql: `
    -- Plain MIN and MAX read the time indexes; the span only says where to look for a zone's changes.
    WITH ends (lo, hi) AS (
      SELECT MIN(COALESCE(end_time, start_time)), MAX(COALESCE(end_time, start_time)) FROM llm_calls
      UNION ALL
      SELECT MIN(start_time), MAX(start_time) FROM tool_uses
      UNION ALL
      SELECT MIN(timestamp), MAX(timestamp) FROM transcript_entries
    )
    SELECT strftime('%Y-%m-%dT%H:%M:%fZ', MIN(julianday(lo))) AS first_at, strftime('%Y-%m-%dT%H:%M:%fZ', MAX(julianday(hi))) AS last_at FROM ends`,
};

export interface BlockRow {
  block_start: string; block_end: string; first_at: string; last_at: string; models: string[];
  model_calls: number; unpriced_calls: number;
  input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number; cache_write_1h_tokens: number;
  total_tokens: number; cost_usd: number | null;
  /** The block @now falls in. */
  active: boolean;
  /** For the active block: what is left of it, and its pace since its first call. */
  remaining_ms: number | null; tokens_per_minute: number | null; usd_per_hour: number | null;
  projected_tokens: number | null; projected_cost_usd: number | null;
}

/**
 * `obs usage --blocks`: Claude plans count usage in 5-hour windows. A window starts at the hour
 * (UTC) of the first model call after the last window ended, and holds every call until five
 * hours later. The active one — @now inside it — has its burn rate (over the time since its
 * first call) and where that rate takes it by the window's end.
 */
export const U002: Query<BlockRow> = {
  id: "U002",
  family: "Usage",
  title: "5-hour blocks",
  description: "Model calls in 5-hour billing windows (each from the hour of its first call), with the active window's burn rate and projection to its end.",
  arg: "none",
  needs: {},
  optional: {
    llm_calls: ["execution_id", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
      "cache_write_1h_tokens", "cost_usd", "start_time", "end_time", "replay_of"],
    task_list_execution_runs: ["id", "task_list_id", "cwd"],
  },
  sql: `
    WITH calls AS (
      SELECT ${ISO("COALESCE(l.end_time, l.start_time)")} AS at, COALESCE(l.model, 'unknown') AS model,
             l.input_tokens, l.output_tokens, l.cache_read_tokens, l.cache_write_tokens, l.cache_write_1h_tokens, l.cost_usd
        FROM llm_calls l
        LEFT JOIN task_list_execution_runs r ON r.id = l.execution_id
       WHERE l.replay_of IS NULL
         AND (@execution_id IS NULL OR l.execution_id = @execution_id)
         AND (@project IS NULL OR COALESCE(r.task_list_id, r.cwd) = @project)
    ),
    -- Per hour and model first: a window is whole hours, so an hour falls wholly in one.
    hour_models AS (
      SELECT strftime('%Y-%m-%dT%H:00:00.000Z', at) AS hour, model,
             COUNT(*) AS model_calls, SUM(cost_usd IS NULL) AS unpriced_calls, MIN(at) AS first_at, MAX(at) AS last_at,
             COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens,
             COALESCE(SUM(cache_read_tokens), 0) AS cache_read_tokens, COALESCE(SUM(cache_write_tokens), 0) AS cache_write_tokens,
             COALESCE(SUM(cache_write_1h_tokens), 0) AS cache_write_1h_tokens, SUM(cost_usd) AS cost_usd
        FROM calls
       WHERE at IS NOT NULL
       GROUP BY hour, model
    ),
    hours AS (
      SELECT hour, ROW_NUMBER() OVER (ORDER BY hour) AS n FROM (SELECT DISTINCT hour FROM hour_models)
    ),
    -- Walk the active hours in order: one 5 hours or more after its window's start opens the next.
    walk (n, hour, block_start) AS (
      SELECT n, hour, hour FROM hours WHERE n = 1
      UNION ALL
      SELECT h.n, h.hour,
             CASE WHEN unixepoch(h.hour) >= unixepoch(w.block_start) + 5 * 3600 THEN h.hour ELSE w.block_start END
        FROM walk w
        JOIN hours h ON h.n = w.n + 1
    ),
    blocks AS (
      SELECT w.block_start,
             strftime('%Y-%m-%dT%H:%M:%fZ', w.block_start, '+5 hours') AS block_end,
             MIN(m.first_at) AS first_at, MAX(m.last_at) AS last_at,
             json_group_array(DISTINCT m.model ORDER BY m.model) AS models,
             SUM(m.model_calls) AS model_calls, SUM(m.unpriced_calls) AS unpriced_calls,
             SUM(m.input_tokens) AS input_tokens, SUM(m.output_tokens) AS output_tokens,
             SUM(m.cache_read_tokens) AS cache_read_tokens, SUM(m.cache_write_tokens) AS cache_write_tokens,
             SUM(m.cache_write_1h_tokens) AS cache_write_1h_tokens,
             SUM(m.input_tokens + m.output_tokens + m.cache_read_tokens + m.cache_write_tokens + m.cache_write_1h_tokens) AS total_tokens,
             SUM(m.cost_usd) AS cost_usd
        FROM walk w
        JOIN hour_models m ON m.hour = w.hour
       GROUP BY w.block_start
    ),
    paced AS (
      SELECT b.*,
             @now IS NOT NULL AND @now >= b.block_start AND @now < b.block_end AS active,
             -- Minutes since the block's first call (at least one, so a first call is no infinite rate).
             MAX(1.0, (julianday(@now) - julianday(b.first_at)) * 1440) AS minutes_in,
             (julianday(b.block_end) - julianday(@now)) * 1440 AS minutes_left
        FROM blocks b
    )
    SELECT block_start, block_end, first_at, last_at, models, model_calls, unpriced_calls,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_usd,
           active,
           CASE WHEN active THEN CAST(ROUND(minutes_left * 60000) AS INTEGER) END                     AS remaining_ms,
           CASE WHEN active THEN ROUND(total_tokens / minutes_in, 1) END                                AS tokens_per_minute,
           CASE WHEN active THEN ROUND(cost_usd / minutes_in * 60, 4) END                              AS usd_per_hour,
           CASE WHEN active THEN CAST(ROUND(total_tokens + total_tokens / minutes_in * minutes_left) AS INTEGER) END AS projected_tokens,
           CASE WHEN active THEN ROUND(cost_usd + cost_usd / minutes_in * minutes_left, 4) END         AS projected_cost_usd
      FROM paced
     WHERE (@since IS NULL OR block_end > @since)
       AND (@until IS NULL OR block_start < @until)
     ORDER BY block_start`,
  shape: (r) => ({ ...r, models: JSON.parse(String(r.models)), active: r.active === 1 }) as BlockRow,
};

export interface AgentSpendRow {
  instance_id: string | null; agent_type: string | null; model_calls: number; unpriced_calls: number;
  input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number; cache_write_1h_tokens: number;
  total_tokens: number; cost_usd: number | null; cost_share: number | null; tool_calls: number;
}

/** Who spent what in a run: `obs summary`'s cost by agent. */
export const U003: Query<AgentSpendRow> = {
  id: "U003",
  family: "Usage",
  title: "Cost by agent",
  description: "An execution's own model calls per agent (the main agent, each subagent, compaction): its type, calls, tokens, cost and share of the cost, and its tool calls.",
  arg: "execution",
  needs: { llm_calls: ["execution_id", "instance_id", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"] },
  optional: {
    llm_calls: ["cache_write_1h_tokens", "replay_of"],
    build_agent_instances: ["id", "agent_type"],
    tool_uses: ["execution_id", "transcript_entry_id", "replay_of"],
    transcript_entries: ["id", "instance_id"],
  },
  sql: `
    WITH spend AS (
      SELECT l.instance_id,
             COUNT(*)                                AS model_calls,
             SUM(l.cost_usd IS NULL)                 AS unpriced_calls,
             COALESCE(SUM(l.input_tokens), 0)          AS input_tokens,
             COALESCE(SUM(l.output_tokens), 0)         AS output_tokens,
             COALESCE(SUM(l.cache_read_tokens), 0)     AS cache_read_tokens,
             COALESCE(SUM(l.cache_write_tokens), 0)    AS cache_write_tokens,
             COALESCE(SUM(l.cache_write_1h_tokens), 0) AS cache_write_1h_tokens,
             SUM(l.cost_usd)                         AS cost_usd
        FROM llm_calls l
       WHERE l.execution_id = @execution_id
         AND l.replay_of IS NULL
       GROUP BY l.instance_id
    ),
    tools AS (
      SELECT te.instance_id, COUNT(*) AS tool_calls
        FROM tool_uses tu
        LEFT JOIN transcript_entries te ON te.id = tu.transcript_entry_id
       WHERE tu.execution_id = @execution_id
         AND tu.replay_of IS NULL
       GROUP BY te.instance_id
    )
    SELECT s.instance_id,
           ${AGENT_KEY("s.instance_id", "ag.agent_type")} AS agent_type,
           s.model_calls, s.unpriced_calls, s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens,
           s.cache_write_1h_tokens,
           s.input_tokens + s.output_tokens + s.cache_read_tokens + s.cache_write_tokens + s.cache_write_1h_tokens AS total_tokens,
           s.cost_usd,
           ROUND(s.cost_usd / NULLIF(SUM(s.cost_usd) OVER (), 0), 4) AS cost_share,
           COALESCE(t.tool_calls, 0) AS tool_calls
      FROM spend s
      LEFT JOIN build_agent_instances ag ON ag.id = s.instance_id
      LEFT JOIN tools t ON t.instance_id IS s.instance_id
     ORDER BY s.cost_usd IS NULL, s.cost_usd DESC, total_tokens DESC, s.instance_id`,
};
