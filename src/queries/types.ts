import type { DB } from "../db/open.js";

export type Family = "Validation" | "Troubleshooting" | "Investigation" | "Aggregation" | "Parallel" | "Detection" | "Listing" | "Search" | "Usage";

/** What a query is asked about. */
export type ArgKind = "execution" | "task" | "correlation" | "task_list" | "agent" | "none";

export interface QueryOption {
  name: string;
  description: string;
  default: number;
}

/**
 * A query is data: its id, what it finds, what it takes, and its SQL. Parameters are bound
 * by name (@execution_id, @task_id, …), never spliced into the text.
 */
export interface Query<Row = Record<string, unknown>> {
  id: string;
  family: Family;
  title: string;
  description: string;
  arg: ArgKind;
  /** The argument may be left out (A006 without a task list compares every list). */
  argOptional?: boolean;
  options?: QueryOption[];
  /** Tables and the columns of each that the SQL reads; missing ones skip the query. */
  needs: Record<string, string[]>;
  /**
   * Tables the SQL reads whose absence only empties a column (tokens in a listing): when
   * missing they are stood in for by an empty temporary table instead of skipping the query.
   */
  optional?: Record<string, string[]>;
  sql: string;
  /** Turns raw rows into the typed rows of the spec (JSON columns parsed, flags as booleans). */
  shape?: (row: Record<string, unknown>) => Row;
  /** Execution-scoped queries can run for every execution (`--all`). */
  executionScoped?: boolean;
}

export type QueryResult<Row = Record<string, unknown>> =
  | { id: string; skipped: false; rows: Row[] }
  | { id: string; skipped: true; reason: string; rows: Row[] };
