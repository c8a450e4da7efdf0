import type { DB } from "./open.js";

/**
 * The budget `obs validate` holds a run to, as the database stores it (in obs_meta, beside the
 * retention), so a CI step needs no flags: cost in US dollars, tokens of every kind, duration in
 * milliseconds, errors and loops (D007 findings). A limit left out is not checked.
 */
export interface Budget {
  max_cost_usd?: number;
  max_tokens?: number;
  max_duration_ms?: number;
  max_errors?: number;
  max_loops?: number;
}
export type BudgetField = keyof Budget;
export const BUDGET_FIELDS: readonly BudgetField[] = ["max_cost_usd", "max_tokens", "max_duration_ms", "max_errors", "max_loops"];

const metaKey = (f: BudgetField) => `budget.${f}`;

/** The stored limits; none in a database obs did not write. */
export function getBudget(db: DB): Budget {
  const meta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'obs_meta'`).get();
  if (!meta) return {};
  const out: Budget = {};
  for (const f of BUDGET_FIELDS) {
    const row = db.prepare(`SELECT value FROM obs_meta WHERE key = ?`).get(metaKey(f)) as { value: string } | undefined;
    if (row && Number.isFinite(Number(row.value))) out[f] = Number(row.value);
  }
  return out;
}

/** Stores a limit, or with null removes it. */
export function setBudgetLimit(db: DB, field: BudgetField, value: number | null): void {
  if (value === null) db.prepare(`DELETE FROM obs_meta WHERE key = ?`).run(metaKey(field));
  else db.prepare(`INSERT INTO obs_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(metaKey(field), String(value));
}
