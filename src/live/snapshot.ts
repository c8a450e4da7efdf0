import type { DB } from "../db/open.js";
import { A001 } from "../queries/aggregation.js";
import { L008, L010 } from "../queries/listing.js";
import { P001, P002 } from "../queries/parallel.js";
import { runQuery } from "../queries/run.js";

/** Where the followed run stands: what the live view's header, waves and agents panels show. */
export interface HeaderInfo {
  executionId: string | null;
  status: string | null;
  elapsedMs: number | null;
  toolCalls: number;
  errors: number;
  passRate: number | null;
  tokens: number | null;
  costUsd: number | null;
}
export interface WaveInfo { waveNumber: number; status: string | null; total: number; completed: number; failed: number; running: number }
export interface AgentInfo { instanceId: string; status: string | null; taskId: string | null; sinceHeartbeatMs: number | null; silent: boolean }
export interface Snapshot {
  header: HeaderInfo;
  waves: WaveInfo[];
  agents: AgentInfo[];
  /** Set once the run has ended: "exec-103 failed". */
  ended: string | null;
}

const ENDED = new Set(["completed", "failed"]);
/** Silent means what it means in `obs waves`: P002's threshold. */
export const SILENT_MS = P002.options!.find((o) => o.name === "silent_ms")!.default;
/** The agents panel shows this many; the rest are counted. */
const AGENTS_SHOWN = 8;

/**
 * Reads the run as it stands at `now`. Once it has ended, its times are the run's own (its
 * duration, silence up to its last event), so a view left open on a finished run stands still.
 */
export function readSnapshot(db: DB, executionId: string | undefined, now: string): Snapshot & { agentsHidden: number } {
  const empty: HeaderInfo = { executionId: executionId ?? null, status: null, elapsedMs: null, toolCalls: 0, errors: 0, passRate: null, tokens: null, costUsd: null };
  if (!executionId) return { header: empty, waves: [], agents: [], ended: null, agentsHidden: 0 };
  const args = { execution_id: executionId, now };
  const a = runQuery(db, A001, args).rows[0];
  const over = Boolean(a?.status && ENDED.has(a.status));
  const header: HeaderInfo = a
    ? {
        executionId, status: a.status,
        elapsedMs: over ? a.duration_ms : a.started_at ? Date.parse(now) - Date.parse(a.started_at) : null,
        toolCalls: a.tool_calls, errors: a.errors, passRate: a.pass_rate,
        // Every kind of token, as obs ls's TOKENS (ALL) counts them: cache reads and writes are most of an agent's.
        tokens: a.total_tokens,
        costUsd: a.cost_usd,
      }
    : empty;
  const waves = runQuery(db, P001, args).rows.map((w) => ({
    waveNumber: w.wave_number, status: w.status, total: w.total_tasks, completed: w.completed, failed: w.failed, running: w.running,
  }));
  const all = runQuery(db, L008, args).rows.map((r) => ({
    instanceId: r.instance_id, status: r.status, taskId: r.task_id, sinceHeartbeatMs: r.since_heartbeat_ms,
    silent: r.status !== "failed" && r.since_heartbeat_ms !== null && r.since_heartbeat_ms > SILENT_MS,
  }));
  return { header, waves, agents: all.slice(0, AGENTS_SHOWN), agentsHidden: Math.max(0, all.length - AGENTS_SHOWN), ended: over ? `${executionId} ${a!.status}` : null };
}

/**
 * Each execution id's short form: the shortest prefix of at least `min` characters that begins
 * no other execution, in the database or among `ids` (so `obs show` and the rest take it).
 * An event of no execution is "—".
 */
export function shortExecutionIds(db: DB, ids: Iterable<string>, min = 8): Map<string, string> {
  const all = [...new Set(ids)];
  const out = new Map<string, string>();
  for (const id of all) {
    if (!id) {
      out.set(id, "—");
      continue;
    }
    let short = id;
    for (let n = Math.min(min, id.length); n < id.length; n++) {
      const p = id.slice(0, n);
      const known = runQuery(db, L010, { prefix: p }).rows.some((r) => r.kind === "execution" && r.id !== id);
      if (!known && !all.some((o) => o !== id && o.startsWith(p))) {
        short = p;
        break;
      }
    }
    out.set(id, short);
  }
  return out;
}
