import { allTokens, errorCount, MS, needs, OWN_SPEND, PARENT_ENTRY, REF_CTE, REF_NEEDS, REPLAY_OPTIONAL, STEP_COLUMNS, STEP_FROM, STEP_NEEDS, STEP_OPTIONAL, STEPS_CTE } from "./fragments.js";
import type { I001Row } from "./investigation.js";
import type { Query } from "./types.js";

export interface ExecutionRow {
  execution_id: string;
  task_list_id: string | null;
  status: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  tasks: number;
  tasks_completed: number;
  tasks_failed: number;
  errors: number;
  agents: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  /** 5-minute cache writes. */
  cache_write_tokens: number | null;
  cache_write_1h_tokens: number | null;
  /** Every kind of token above, summed: what the TOKENS column shows. */
  total_tokens: number | null;
  cost_usd: number | null;
  unpriced_calls: number;
  /** Model calls it carries of another execution's record (a resume, a fork, a copy): never counted above. */
  replayed_calls: number;
  replayed_tokens: number | null;
  replayed_cost_usd: number | null;
}

/** `obs ls`: every execution, newest first. */
export const L001: Query<ExecutionRow> = {
  id: "L001",
  family: "Listing",
  title: "Executions",
  description: "Every execution in the database, newest first, with its outcome, size and cost.",
  arg: "none",
  // Only transcripts are needed: a database another producer wrote may lack the rest.
  needs: { transcript_entries: ["execution_id", "timestamp", "entry_type"] },
  optional: needs(
    {
      task_list_execution_runs: ["id", "task_list_id", "status", "started_at", "completed_at"],
      tasks: ["execution_id", "status"],
      tool_uses: ["execution_id", "is_error"],
      build_agent_instances: ["execution_id", "status"],
      skill_traces: ["execution_id", "status"],
      assertion_results: ["execution_id", "result"],
      message_bus_log: ["execution_id", "severity"],
      llm_calls: ["execution_id", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "cost_usd", "replay_of"],
    },
    REPLAY_OPTIONAL,
  ),
  // cost_usd sums the calls whose price is known; unpriced_calls says how many are not.
  sql: `
    -- Executions with a run row, and those only ever seen in transcripts.
    WITH ids AS (
      SELECT id AS execution_id FROM task_list_execution_runs
       UNION
      SELECT DISTINCT execution_id FROM transcript_entries
    ),
    ex AS (
      SELECT ids.execution_id,
             r.task_list_id,
             COALESCE(r.status, 'unknown')                       AS status,
             COALESCE(r.started_at, (SELECT MIN(te.timestamp) FROM transcript_entries te
                                      WHERE te.execution_id = ids.execution_id)) AS started_at,
             r.completed_at,
             (SELECT MAX(te.timestamp) FROM transcript_entries te
               WHERE te.execution_id = ids.execution_id)         AS last_event_at
        FROM ids
        LEFT JOIN task_list_execution_runs r ON r.id = ids.execution_id
    ),
    -- Each execution's own spending; what it carries of another's record (replay_of) apart.
    spend AS (
      SELECT execution_id,
             ${OWN_SPEND},
             SUM(replay_of IS NULL AND cost_usd IS NULL)                     AS unpriced_calls,
             SUM(replay_of IS NOT NULL)                                      AS replayed_calls,
             SUM(CASE WHEN replay_of IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)
                      + COALESCE(cache_read_tokens, 0) + COALESCE(cache_write_tokens, 0) + COALESCE(cache_write_1h_tokens, 0) END) AS replayed_tokens,
             SUM(CASE WHEN replay_of IS NOT NULL THEN cost_usd END)          AS replayed_cost_usd
        FROM llm_calls
       GROUP BY execution_id
    )
    SELECT ex.execution_id,
           ex.task_list_id,
           ex.status,
           ex.started_at,
           ex.completed_at,
           CAST(ROUND((julianday(COALESCE(ex.completed_at, ex.last_event_at)) - julianday(ex.started_at))
                      * 86400000) AS INTEGER)                                         AS duration_ms,
           (SELECT COUNT(*) FROM tasks t WHERE t.execution_id = ex.execution_id AND t.replay_of IS NULL) AS tasks,
           (SELECT COUNT(*) FROM tasks t
             WHERE t.execution_id = ex.execution_id AND t.status = 'completed' AND t.replay_of IS NULL) AS tasks_completed,
           (SELECT COUNT(*) FROM tasks t
             WHERE t.execution_id = ex.execution_id AND t.status = 'failed' AND t.replay_of IS NULL)    AS tasks_failed,
           ${errorCount("ex.execution_id")}                                             AS errors,
           (SELECT COUNT(*) FROM build_agent_instances a WHERE a.execution_id = ex.execution_id) AS agents,
           sp.input_tokens,
           sp.output_tokens,
           sp.cache_read_tokens,
           sp.cache_write_tokens,
           sp.cache_write_1h_tokens,
           ${allTokens("sp")} AS total_tokens,
           sp.cost_usd,
           COALESCE(sp.unpriced_calls, 0)                                              AS unpriced_calls,
           COALESCE(sp.replayed_calls, 0)                                              AS replayed_calls,
           sp.replayed_tokens,
           sp.replayed_cost_usd
      FROM ex
      LEFT JOIN spend sp ON sp.execution_id = ex.execution_id
     WHERE (@since  IS NULL OR ex.started_at >= @since)
       AND (@until  IS NULL OR ex.started_at <  @until)
       AND (@status IS NULL OR ex.status = @status)
     ORDER BY ex.started_at DESC, ex.execution_id DESC`,
};

export interface TaskInfoRow { task_id: string; execution_id: string | null; display_id: string | null; title: string | null; status: string | null; started_at: string | null; completed_at: string | null; duration_ms: number | null; instance_id: string | null }
/** The header of a task's trace: what it is, its status and timing, and its agent. */
export const L002: Query<TaskInfoRow> = {
  id: "L002",
  family: "Listing",
  title: "Task",
  description: "One task: title, status, timing and the agent that worked it.",
  arg: "task",
  needs: { tasks: ["id", "execution_id", "display_id", "title", "status", "started_at", "completed_at"], transcript_entries: ["task_id", "instance_id", "execution_id"] },
  sql: `
    SELECT @task_id AS task_id,
           COALESCE(t.execution_id, (SELECT execution_id FROM transcript_entries WHERE task_id = @task_id LIMIT 1)) AS execution_id,
           t.display_id,
           t.title,
           t.status,
           t.started_at,
           t.completed_at,
           CAST(ROUND((julianday(t.completed_at) - julianday(t.started_at)) * 86400000) AS INTEGER) AS duration_ms,
           (SELECT instance_id FROM transcript_entries WHERE task_id = @task_id AND instance_id IS NOT NULL LIMIT 1) AS instance_id
      FROM (SELECT 1) one
      LEFT JOIN tasks t ON t.id = @task_id`,
};

export interface AgentTaskRow { instance_id: string; task_id: string; first_at: string; entries: number }
/** Which agent worked which task of an execution, in the order they started. */
export const L003: Query<AgentTaskRow> = {
  id: "L003",
  family: "Listing",
  title: "Tasks by agent",
  description: "The tasks of an execution with the agent that worked each, in the order they started.",
  arg: "execution",
  needs: { transcript_entries: ["execution_id", "instance_id", "task_id", "timestamp"] },
  sql: `
    SELECT COALESCE(instance_id, '(no agent)') AS instance_id,
           task_id,
           MIN(timestamp)                      AS first_at,
           COUNT(*)                            AS entries
      FROM transcript_entries
     WHERE execution_id = @execution_id
       AND task_id IS NOT NULL
     GROUP BY instance_id, task_id
     ORDER BY MIN(timestamp), instance_id`,
};

export interface ModelUsageRow { model: string; calls: number; input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number; cache_write_1h_tokens: number; cost_usd: number | null; unpriced_calls: number }
/** Tokens and cost of an execution, model by model. */
export const L004: Query<ModelUsageRow> = {
  id: "L004",
  family: "Listing",
  title: "Tokens and cost by model",
  description: "An execution's own model calls per model: calls, tokens (input, output, cache read, cache write 5-minute and 1-hour) and cost; calls of unknown price are counted, not costed.",
  arg: "execution",
  needs: { llm_calls: ["execution_id", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"] },
  optional: { llm_calls: ["cache_write_1h_tokens", "replay_of"] },
  sql: `
    -- Calls it carries of another execution's record (replay_of) are that execution's spending.
    SELECT COALESCE(model, 'unknown')              AS model,
           COUNT(*)                                AS calls,
           COALESCE(SUM(input_tokens), 0)          AS input_tokens,
           COALESCE(SUM(output_tokens), 0)         AS output_tokens,
           COALESCE(SUM(cache_read_tokens), 0)     AS cache_read_tokens,
           COALESCE(SUM(cache_write_tokens), 0)    AS cache_write_tokens,
           COALESCE(SUM(cache_write_1h_tokens), 0) AS cache_write_1h_tokens,
           SUM(cost_usd)                           AS cost_usd,
           SUM(cost_usd IS NULL)                   AS unpriced_calls
      FROM llm_calls
     WHERE execution_id = @execution_id
       AND replay_of IS NULL
     GROUP BY model
     ORDER BY cost_usd DESC, model`,
};

export interface ExecutionInfoRow {
  execution_id: string;
  status: string | null;
  task_list_id: string | null;
  /** What the run was asked to do, or why it ended, as its producer said. */
  message: string | null;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  step_count: number;
  agent_count: number;
  task_count: number;
}
/** The header of an execution's trace: its status, timing, and how many steps, agents and tasks its record has. */
export const L005: Query<ExecutionInfoRow> = {
  id: "L005",
  family: "Listing",
  title: "Execution",
  description: "One execution: status, what it was asked, timing, and the steps, agents and tasks of its record.",
  arg: "execution",
  needs: { transcript_entries: ["execution_id", "timestamp", "instance_id", "task_id"] },
  optional: { task_list_execution_runs: ["id", "status", "task_list_id", "message", "started_at", "completed_at"] },
  sql: `
    -- Counted from its steps, so a run another producer wrote without agents or tasks is whole.
    WITH record AS (
      SELECT COUNT(*)                    AS step_count,
             COUNT(DISTINCT instance_id) AS agent_count,
             COUNT(DISTINCT task_id)     AS task_count,
             MIN(timestamp)              AS first_at,
             MAX(timestamp)              AS last_at
        FROM transcript_entries
       WHERE execution_id = @execution_id
    )
    SELECT @execution_id                              AS execution_id,
           r.status,
           r.task_list_id,
           r.message,
           COALESCE(r.started_at, record.first_at)    AS started_at,
           r.completed_at,
           ${MS("COALESCE(r.completed_at, record.last_at)", "COALESCE(r.started_at, record.first_at)")} AS duration_ms,
           record.step_count,
           record.agent_count,
           record.task_count
      FROM record
      LEFT JOIN task_list_execution_runs r ON r.id = @execution_id`,
};

/** A step of an execution's trace: I001's row, execution-wide. */
export type StepRow = I001Row;
/**
 * Every step of an execution in time order, whatever worked it: I001's columns for the whole
 * run, with or without agents and tasks, and each step's parent as its record names it.
 */
export const L006: Query<StepRow> = {
  id: "L006",
  family: "Listing",
  title: "Execution timeline",
  description: "Every step of an execution in time order — with or without an agent or a task — with its tool, skill or assertion, duration, status and parent step.",
  arg: "execution",
  needs: { transcript_entries: STEP_NEEDS("execution_id").transcript_entries!, tool_uses: STEP_NEEDS("execution_id").tool_uses! },
  // A file of another producer with steps but no skills or assertions is still traced.
  optional: needs(STEP_OPTIONAL, {
    skill_traces: STEP_NEEDS("execution_id").skill_traces!,
    assertion_results: STEP_NEEDS("execution_id").assertion_results!,
  }),
  sql: `
    -- Every entry of the execution once, with its tool call or assertion, in time order.
    -- Parents are resolved by primary key; a link to a step the execution does not hold
    -- keeps parent_ref with parent_entry_id NULL, so the view can say so.
    WITH ${STEPS_CTE("execution_id", "@execution_id")},
    -- Materialized: each step's parent reference is worked out once, then looked up.
    steps AS MATERIALIZED (
      SELECT ${STEP_COLUMNS}
      ${STEP_FROM}
    )
    SELECT s.*, ${PARENT_ENTRY("s.parent_ref", "@execution_id")} AS parent_entry_id
      FROM steps s
     ORDER BY s.timestamp, s.sequence, s.entry_id`,
};

export interface ExecutionTaskRow {
  task_id: string;
  display_id: string | null;
  title: string | null;
  status: string | null;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  /** The agent that made most of its steps (an agent before none). */
  instance_id: string | null;
  step_count: number;
  first_at: string | null;
  /** The entry of the tool call that started it (a subagent's task is its Task call), if any. */
  spawned_by_entry_id: string | null;
  replay_of: string | null;
}
/** The tasks of an execution, each with the agent that worked it and the call that started it. */
export const L007: Query<ExecutionTaskRow> = {
  id: "L007",
  family: "Listing",
  title: "Tasks of an execution",
  description: "Every task of an execution (listed, or only named by its steps) in the order it started: status, timing, its agent and the tool call that started it.",
  arg: "execution",
  needs: { transcript_entries: ["execution_id", "task_id", "instance_id", "timestamp"] },
  optional: needs(
    { tasks: ["id", "execution_id", "display_id", "title", "status", "started_at", "completed_at", "replay_of"] },
    { tool_uses: ["id", "execution_id", "transcript_entry_id"] },
  ),
  sql: `
    WITH ids AS (
      SELECT id AS task_id FROM tasks WHERE execution_id = @execution_id
       UNION
      SELECT DISTINCT task_id FROM transcript_entries WHERE execution_id = @execution_id AND task_id IS NOT NULL
    ),
    -- Each agent's share of each task: the task is the work of the one with most steps.
    work AS (
      SELECT task_id, instance_id, COUNT(*) AS steps, MIN(timestamp) AS first_at
        FROM transcript_entries
       WHERE execution_id = @execution_id
         AND task_id IS NOT NULL
       GROUP BY task_id, instance_id
    ),
    ranked AS (
      SELECT work.*,
             ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY instance_id IS NULL, steps DESC, first_at, instance_id) AS n,
             SUM(steps) OVER (PARTITION BY task_id) AS all_steps,
             MIN(first_at) OVER (PARTITION BY task_id) AS task_first_at
        FROM work
    )
    SELECT ids.task_id,
           t.display_id,
           t.title,
           t.status,
           t.started_at,
           t.completed_at,
           ${MS("t.completed_at", "t.started_at")} AS duration_ms,
           r.instance_id,
           COALESCE(r.all_steps, 0)                    AS step_count,
           COALESCE(r.task_first_at, t.started_at)     AS first_at,
           (SELECT tu.transcript_entry_id FROM tool_uses tu
             WHERE tu.id = ids.task_id AND tu.execution_id = @execution_id) AS spawned_by_entry_id,
           t.replay_of
      FROM ids
      LEFT JOIN tasks  t ON t.id = ids.task_id
      LEFT JOIN ranked r ON r.task_id = ids.task_id AND r.n = 1
     ORDER BY COALESCE(r.task_first_at, t.started_at), ids.task_id`,
};

export interface LiveAgentRow {
  instance_id: string;
  status: string | null;
  task_id: string | null;
  last_heartbeat_at: string | null;
  /** Since its last heartbeat (or its spawn), to the moment P002 judges silence at. */
  since_heartbeat_ms: number | null;
}
/** The agents the live view lists: those still at work, and those that failed, with how long each has been quiet. */
export const L008: Query<LiveAgentRow> = {
  id: "L008",
  family: "Listing",
  title: "Agents at work",
  description: "An execution's agents that have not completed or been terminated (failed ones first), each with the time since its last heartbeat, measured as P002 measures silence: to the run's last event once it has ended, else to now.",
  arg: "execution",
  needs: needs(REF_NEEDS, { build_agent_instances: ["id", "execution_id", "status", "task_id", "last_heartbeat_at", "spawned_at"] }),
  sql: `
    WITH ${REF_CTE}
    SELECT a.id     AS instance_id,
           a.status,
           a.task_id,
           a.last_heartbeat_at,
           ${MS("(SELECT ref_at FROM ref)", "COALESCE(a.last_heartbeat_at, a.spawned_at)")} AS since_heartbeat_ms
      FROM build_agent_instances a
     WHERE a.execution_id = @execution_id
       AND (a.status IS NULL OR a.status NOT IN ('completed', 'terminated'))
     ORDER BY a.status IN ('failed', 'error') DESC, a.spawned_at, a.id`,
};

/** The kinds of record `obs show` shows, with the table each is a row of. */
export const RECORD_TABLES = {
  tool_call: "tool_uses",
  entry: "transcript_entries",
  assertion: "assertion_results",
  chain: "assertion_chains",
  skill: "skill_traces",
  model_call: "llm_calls",
  task: "tasks",
  agent: "build_agent_instances",
  execution: "task_list_execution_runs",
  bus_event: "message_bus_log",
  wave: "parallel_execution_waves",
} as const;
export type RecordKind = keyof typeof RECORD_TABLES;
const KINDS = Object.entries(RECORD_TABLES) as [RecordKind, string][];
/** Every record table stood in for when missing: a file of another producer has some of them. */
const ALL_IDS = Object.fromEntries(KINDS.map(([, table]) => [table, ["id"]]));

export interface RecordIdRow { kind: RecordKind; id: string }
/** What an id names: every kind of record that has it as its id (a subagent's task shares its Task call's id). */
export const L009: Query<RecordIdRow> = {
  id: "L009",
  family: "Listing",
  title: "What an id names",
  description: "The records whose id is the one given: tool calls, entries, assertions, chains, skills, model calls, tasks, agents, executions, bus events and waves.",
  arg: "none",
  needs: {},
  optional: ALL_IDS,
  sql: `
    -- One primary-key seek per table.
    ${KINDS.map(([kind, table]) => `SELECT '${kind}' AS kind, id FROM ${table} WHERE id = @id`).join("\n     UNION ALL\n    ")}`,
};

/** Ids that start with a prefix, a few of each kind: for an id given short, or to suggest the closest. */
export const L010: Query<RecordIdRow> = {
  id: "L010",
  family: "Listing",
  title: "Ids starting with",
  description: "Up to 6 ids of each kind of record that start with the prefix given, in order.",
  arg: "none",
  needs: {},
  optional: ALL_IDS,
  sql: `
    -- A range on each primary key: every text that starts with @prefix sorts from it to @prefix || U+10FFFF.
    ${KINDS.map(([kind, table]) => `SELECT * FROM (SELECT '${kind}' AS kind, id FROM ${table} WHERE id >= @prefix AND id < @prefix || char(1114111) ORDER BY id LIMIT 6)`).join("\n     UNION ALL\n    ")}`,
};

/** The column naming the execution a record is of (a wave's is its run's). */
const EXECUTION_OF: Record<RecordKind, string> = {
  tool_call: "execution_id", entry: "execution_id", assertion: "execution_id", chain: "execution_id", skill: "execution_id", model_call: "execution_id",
  task: "execution_id", agent: "execution_id", execution: "id", bus_event: "execution_id", wave: "execution_run_id",
};

/**
 * A record whose id starts with a prefix and that is not of the execution given (or of none),
 * one of each kind at most: none means a prefix of the execution's id starts only its own
 * records, so it names the execution. It reads the records sharing the prefix, and is asked
 * only of a prefix that starts one execution's id and other ids besides.
 */
export const L011: Query<RecordIdRow> = {
  id: "L011",
  family: "Listing",
  title: "Ids starting with, of another execution",
  description: "A record of each kind whose id starts with the prefix given and that is not of the execution given.",
  arg: "none",
  needs: {},
  // A table without its execution column stands in NULL for it: such records are of no execution known.
  optional: Object.fromEntries(KINDS.map(([kind, table]) => [table, ["id", EXECUTION_OF[kind]]])),
  sql: `
    ${KINDS.map(([kind, table]) => `SELECT * FROM (SELECT '${kind}' AS kind, id FROM ${table} WHERE id >= @prefix AND id < @prefix || char(1114111) AND ${EXECUTION_OF[kind]} IS NOT @execution LIMIT 1)`).join("\n     UNION ALL\n    ")}`,
};

/** A link of a record to another: what it is to the record, the other's kind and id, and a few words on it. */
export interface RecordLink { rel: string; kind: RecordKind | "correlation"; id: string; label: string | null }
export type RecordRow = Record<string, unknown> & { _links: RecordLink[] };

/** Links past this many of one relation (an execution's tasks) are left for the commands that list them. */
const LINKS_EACH = 50;
const link = (rel: string, kind: RecordLink["kind"], from: string) =>
  `SELECT * FROM (SELECT '${rel}' AS rel, '${kind}' AS kind, ${from} LIMIT ${LINKS_EACH})`;
const shapeRecord = (row: Record<string, unknown>): RecordRow => {
  const links = (JSON.parse(String(row._links ?? "[]")) as RecordLink[]).filter((l) => l.id !== null && l.id !== undefined);
  return { ...row, _links: links };
};

/** One record whole, by id: every column of its row, and the records it names or that name it (`_links`). */
function recordQuery(id: string, kind: RecordKind, title: string, links: string[], optional: Record<string, string[]>): Query<RecordRow> {
  const table = RECORD_TABLES[kind];
  return {
    id,
    family: "Listing",
    title,
    description: `One ${title.toLowerCase()} by id: every field of its row, and what it links to.`,
    arg: "none",
    needs: { [table]: ["id"] },
    optional,
    shape: shapeRecord,
    sql: `
    WITH t AS (SELECT * FROM ${table} WHERE id = @id),
    links(rel, kind, id, label) AS (
      ${links.join("\n       UNION ALL\n      ")}
    )
    SELECT t.*,
           (SELECT json_group_array(json_object('rel', rel, 'kind', kind, 'id', id, 'label', label)) FROM links) AS _links
      FROM t`,
  };
}

const agentOfEntry = (entry: string) => `(SELECT instance_id FROM transcript_entries WHERE id = ${entry})`;
const taskLabel = (task: string) => `(SELECT title FROM tasks WHERE id = ${task})`;

export const RECORD_QUERIES: Record<RecordKind, Query<RecordRow>> = {
  tool_call: recordQuery("L011", "tool_call", "Tool call", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("agent", "agent", `${agentOfEntry("t.transcript_entry_id")} AS id, NULL AS label FROM t`),
    link("entry", "entry", "transcript_entry_id AS id, NULL AS label FROM t"),
    link("skill", "skill", "within_skill AS id, (SELECT skill_name FROM skill_traces WHERE id = t.within_skill) AS label FROM t"),
    link("parent call", "tool_call", "parent_tool_use_id AS id, (SELECT tool || ' ' || COALESCE(input_summary, '') FROM tool_uses WHERE id = t.parent_tool_use_id) AS label FROM t"),
    link("call within", "tool_call", "c.id, c.tool || ' ' || COALESCE(c.input_summary, '') FROM t JOIN tool_uses c ON c.execution_id = t.execution_id AND c.parent_tool_use_id = t.id ORDER BY c.start_time, c.id"),
    link("task it started", "task", "s.id, s.title FROM t JOIN tasks s ON s.id = t.id"),
    link("replay of", "tool_call", "replay_of AS id, NULL AS label FROM t"),
  ], needs({ tool_uses: ["execution_id", "task_id", "transcript_entry_id", "within_skill", "parent_tool_use_id", "tool", "input_summary", "start_time", "replay_of"] },
    { tasks: ["id", "title"], transcript_entries: ["id", "instance_id"], skill_traces: ["id", "skill_name"] })),

  entry: recordQuery("L012", "entry", "Entry", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("agent", "agent", "instance_id AS id, NULL AS label FROM t"),
    link("tool call", "tool_call", "c.id, c.tool || ' ' || COALESCE(c.input_summary, '') FROM t JOIN tool_uses c ON c.execution_id = t.execution_id AND c.transcript_entry_id = t.id"),
    link("assertion", "assertion", "a.id, a.result || ' ' || a.category FROM t JOIN assertion_results a ON a.execution_id = t.execution_id AND a.transcript_entry_id = t.id"),
    link("bus event", "bus_event", "b.id, b.event_type FROM t JOIN message_bus_log b ON b.execution_id = t.execution_id AND b.transcript_entry_id = t.id"),
    link("model call", "model_call", "m.id, m.model FROM t JOIN llm_calls m ON m.execution_id = t.execution_id AND m.transcript_entry_id = t.id"),
    link("parent", "entry", `COALESCE(json_extract(t.details, '$.parent_trace_id'), json_extract(t.details, '$.parent_span_id'),
                 json_extract(t.details, '$.parent_tool_use_id'), json_extract(t.details, '$.parent_id')) AS id, 'as its record names it' AS label
            FROM t WHERE json_valid(t.details)`),
    link("replay of", "entry", "replay_of AS id, NULL AS label FROM t"),
  ], needs({ transcript_entries: ["execution_id", "task_id", "instance_id", "details", "replay_of"] },
    { tasks: ["id", "title"], tool_uses: ["id", "execution_id", "transcript_entry_id", "tool", "input_summary"],
      assertion_results: ["id", "execution_id", "transcript_entry_id", "result", "category"], message_bus_log: ["id", "execution_id", "transcript_entry_id", "event_type"],
      llm_calls: ["id", "execution_id", "transcript_entry_id", "model"] })),

  assertion: recordQuery("L013", "assertion", "Assertion", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("chain", "chain", "chain_id AS id, (SELECT description FROM assertion_chains WHERE id = t.chain_id) AS label FROM t"),
    link("entry", "entry", "transcript_entry_id AS id, NULL AS label FROM t"),
    link("agent", "agent", `${agentOfEntry("t.transcript_entry_id")} AS id, NULL AS label FROM t`),
  ], needs({ assertion_results: ["execution_id", "task_id", "chain_id", "transcript_entry_id"] },
    { tasks: ["id", "title"], assertion_chains: ["id", "description"], transcript_entries: ["id", "instance_id"] })),

  chain: recordQuery("L014", "chain", "Assertion chain", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("first failure", "assertion", "first_failure_id AS id, (SELECT category || ': ' || description FROM assertion_results WHERE id = t.first_failure_id) AS label FROM t"),
    link("result", "assertion", "a.id, a.result || ' ' || a.category || ': ' || COALESCE(a.description, '') FROM t JOIN assertion_results a ON a.chain_id = t.id ORDER BY a.timestamp, a.id"),
  ], needs({ assertion_chains: ["execution_id", "task_id", "first_failure_id"] },
    { tasks: ["id", "title"], assertion_results: ["id", "chain_id", "result", "category", "description", "timestamp"] })),

  skill: recordQuery("L015", "skill", "Skill", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("agent", "agent", "instance_id AS id, NULL AS label FROM t"),
    link("tool call", "tool_call", "c.id, c.tool || ' ' || COALESCE(c.input_summary, '') FROM t JOIN tool_uses c ON c.within_skill = t.id ORDER BY c.start_time, c.id"),
  ], needs({ skill_traces: ["execution_id", "task_id", "instance_id"] },
    { tasks: ["id", "title"], tool_uses: ["id", "within_skill", "tool", "input_summary", "start_time"] })),

  model_call: recordQuery("L016", "model_call", "Model call", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("agent", "agent", "instance_id AS id, NULL AS label FROM t"),
    link("entry", "entry", "transcript_entry_id AS id, NULL AS label FROM t"),
    link("replay of", "model_call", "replay_of AS id, NULL AS label FROM t"),
  ], needs({ llm_calls: ["execution_id", "task_id", "instance_id", "transcript_entry_id", "replay_of"] }, { tasks: ["id", "title"] })),

  task: recordQuery("L017", "task", "Task", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("depends on", "task", "d.depends_on_task_id AS id, (SELECT title || ' (' || status || ')' FROM tasks WHERE id = d.depends_on_task_id) AS label FROM t JOIN task_dependencies d ON d.task_id = t.id"),
    link("needed by", "task", "d.task_id AS id, (SELECT title FROM tasks WHERE id = d.task_id) AS label FROM t JOIN task_dependencies d ON d.depends_on_task_id = t.id"),
    link("wave", "wave", "w.wave_id AS id, 'wave ' || (SELECT wave_number FROM parallel_execution_waves WHERE id = w.wave_id) AS label FROM t JOIN wave_task_assignments w ON w.task_id = t.id"),
    link("agent", "agent", "a.id, a.status FROM t JOIN build_agent_instances a ON a.execution_id = t.execution_id AND a.task_id = t.id"),
    link("chain", "chain", "c.id, c.description || ' (' || COALESCE(c.overall_result, 'not ended') || ')' FROM t JOIN assertion_chains c ON c.task_id = t.id"),
    link("started by", "tool_call", "c.id, c.tool || ' ' || COALESCE(c.input_summary, '') FROM t JOIN tool_uses c ON c.id = t.id"),
    link("replay of", "task", "replay_of AS id, NULL AS label FROM t"),
  ], needs({ tasks: ["execution_id", "replay_of"] },
    { task_dependencies: ["task_id", "depends_on_task_id"], parallel_execution_waves: ["id", "wave_number"], wave_task_assignments: ["wave_id", "task_id"],
      build_agent_instances: ["id", "execution_id", "task_id", "status"], assertion_chains: ["id", "task_id", "description", "overall_result"],
      tool_uses: ["id", "tool", "input_summary"] })),

  agent: recordQuery("L018", "agent", "Agent", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("wave", "wave", "wave_id AS id, NULL AS label FROM t"),
    link("worked on", "task", `h.current_task_id AS id, ${taskLabel("h.current_task_id")} AS label
            FROM t JOIN (SELECT DISTINCT current_task_id FROM agent_heartbeats WHERE instance_id = @id AND current_task_id IS NOT NULL) h
           WHERE h.current_task_id IS NOT t.task_id`),
  ], needs({ build_agent_instances: ["execution_id", "task_id", "wave_id"] }, { tasks: ["id", "title"], agent_heartbeats: ["instance_id", "current_task_id"] })),

  execution: recordQuery("L019", "execution", "Execution", [
    link("wave", "wave", "w.id, 'wave ' || w.wave_number || ' ' || COALESCE(w.status, '') FROM t JOIN parallel_execution_waves w ON w.execution_run_id = t.id ORDER BY w.wave_number"),
    link("agent", "agent", "a.id, a.status FROM t JOIN build_agent_instances a ON a.execution_id = t.id ORDER BY a.spawned_at, a.id"),
    link("task", "task", "k.id, k.title || ' (' || COALESCE(k.status, '?') || ')' FROM t JOIN tasks k ON k.execution_id = t.id ORDER BY k.started_at, k.id"),
  ], needs({ parallel_execution_waves: ["id", "execution_run_id", "wave_number", "status"], build_agent_instances: ["id", "execution_id", "status", "spawned_at"],
    tasks: ["id", "execution_id", "title", "status", "started_at"] })),

  bus_event: recordQuery("L020", "bus_event", "Bus event", [
    link("execution", "execution", "execution_id AS id, NULL AS label FROM t"),
    link("task", "task", `task_id AS id, ${taskLabel("t.task_id")} AS label FROM t`),
    link("entry", "entry", "transcript_entry_id AS id, NULL AS label FROM t"),
    link("correlation", "correlation", "correlation_id AS id, (SELECT COUNT(*) || ' events' FROM message_bus_log WHERE correlation_id = t.correlation_id) AS label FROM t"),
  ], needs({ message_bus_log: ["execution_id", "task_id", "transcript_entry_id", "correlation_id"] }, { tasks: ["id", "title"] })),

  wave: recordQuery("L021", "wave", "Wave", [
    link("execution", "execution", "execution_run_id AS id, NULL AS label FROM t"),
    link("task", "task", "a.task_id AS id, (SELECT title || ' (' || COALESCE(status, '?') || ')' FROM tasks WHERE id = a.task_id) AS label FROM t JOIN wave_task_assignments a ON a.wave_id = t.id"),
  ], needs({ parallel_execution_waves: ["execution_run_id"] }, { wave_task_assignments: ["wave_id", "task_id"], tasks: ["id", "title", "status"] })),
};
