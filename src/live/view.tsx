/**
 * `obs tail` on a terminal. Presentational components take plain props (so tests render them
 * at a fixed width); the data comes from useTail, which reads the change feed and refreshes
 * the header, waves and agents from the database when something landed.
 */
import React, { useEffect, useRef, useState } from "react";
import { Box, render, Static, Text, useApp, useInput } from "ink";
import type { IO } from "../io.js";
import { ReadContext } from "../commands/context.js";
import { passes, type TailFilter } from "../commands/tail.js";
import { A001 } from "../queries/aggregation.js";
import { P001 } from "../queries/parallel.js";
import { bar } from "../render/bars.js";
import { cut, fmtInt, fmtMs, fmtPct, fmtUsd } from "../render/format.js";
import { agentOf, describe, isErrorEvent, type StreamEvent } from "./events.js";
import type { ChangeFeed } from "./feed.js";

/** Semantic colour names: what a thing is, not which hue it gets. */
const c = { error: "red", ok: "green", warn: "yellow", dim: "gray", accent: "cyan", id: "blue" } as const;

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
export interface FeedLine { key: number; event: StreamEvent }

export interface TailViewProps {
  header: HeaderInfo;
  waves: WaveInfo[];
  agents: AgentInfo[];
  /** Lines already shown; they stay above the live part. */
  lines: FeedLine[];
  /** Lines shown in the scroll window while paused. */
  window: FeedLine[];
  paused: boolean;
  pending: number;
  errorsOnly: boolean;
  finished: string | null;
  width: number;
}

const SILENT_MS = 5 * 60_000;

export function EventLine({ event, width }: { event: StreamEvent; width: number }) {
  const time = event.timestamp.slice(11, 23);
  const agent = (agentOf(event) ?? "").padEnd(14).slice(0, 14);
  const type = event.type.padEnd(16);
  const room = Math.max(10, width - 12 - 2 - 14 - 2 - 16 - 2);
  const err = isErrorEvent(event);
  const loud = event.type === "execution:status" || event.type === "wave:status" || event.type === "loop:start";
  return (
    <Text wrap="truncate">
      <Text color={c.dim}>{time}</Text>  {agent}  <Text color={c.accent}>{type}</Text>  <Text color={err ? c.error : undefined} bold={loud}>{cut(describe(event), room)}</Text>
    </Text>
  );
}

export function Header({ h }: { h: HeaderInfo }) {
  return (
    <Box>
      <Text wrap="truncate">
        <Text bold color={c.id}>{h.executionId ?? "all executions"}</Text>
        {h.status ? <Text color={h.status === "failed" ? c.error : h.status === "completed" ? c.ok : c.warn}>  {h.status}</Text> : null}
        <Text color={c.dim}>  elapsed </Text>{fmtMs(h.elapsedMs)}
        <Text color={c.dim}>  tool calls </Text>{fmtInt(h.toolCalls)}
        <Text color={c.dim}>  errors </Text><Text color={h.errors ? c.error : undefined}>{fmtInt(h.errors)}</Text>
        <Text color={c.dim}>  pass rate </Text>{fmtPct(h.passRate)}
        {h.tokens !== null ? <><Text color={c.dim}>  tokens </Text>{fmtInt(h.tokens)}<Text color={c.dim}>  cost </Text>{h.costUsd === null ? "unknown" : fmtUsd(h.costUsd)}</> : null}
      </Text>
    </Box>
  );
}

export function Waves({ waves }: { waves: WaveInfo[] }) {
  if (!waves.length) return null;
  return (
    <Box flexDirection="column">
      {waves.map((w) => (
        <Text key={w.waveNumber} wrap="truncate">
          <Text color={c.dim}>wave {String(w.waveNumber).padStart(2)} </Text>
          <Text color={w.failed ? c.error : w.completed === w.total && w.total > 0 ? c.ok : c.warn}>{bar(w.completed + w.failed, Math.max(1, w.total), 20)}</Text>
          {`  ${w.completed}/${w.total} done`}{w.failed ? <Text color={c.error}>{`, ${w.failed} failed`}</Text> : null}{w.running ? `, ${w.running} running` : ""}
          <Text color={c.dim}>{`  ${w.status ?? ""}`}</Text>
        </Text>
      ))}
    </Box>
  );
}

export function Agents({ agents }: { agents: AgentInfo[] }) {
  if (!agents.length) return null;
  return (
    <Box flexDirection="column">
      <Text color={c.dim}>active agents</Text>
      {agents.map((a) => (
        <Text key={a.instanceId} wrap="truncate">
          {"  "}<Text color={c.id}>{a.instanceId.padEnd(16)}</Text>{(a.status ?? "").padEnd(9)} {(a.taskId ?? "—").padEnd(16)}
          <Text color={a.silent ? c.error : c.dim}>{`  last heartbeat ${fmtMs(a.sinceHeartbeatMs)} ago${a.silent ? "  SILENT" : ""}`}</Text>
        </Text>
      ))}
    </Box>
  );
}

export function TailView(p: TailViewProps) {
  return (
    <>
      <Static items={p.lines}>{(l) => <EventLine key={l.key} event={l.event} width={p.width} />}</Static>
      <Box flexDirection="column" borderStyle="single" borderColor={c.dim} paddingX={1} width={p.width}>
        <Header h={p.header} />
        <Waves waves={p.waves} />
        <Agents agents={p.agents} />
        {p.paused ? (
          <Box flexDirection="column">
            {p.window.map((l) => <EventLine key={l.key} event={l.event} width={p.width - 4} />)}
          </Box>
        ) : null}
        <Text color={p.paused ? c.warn : c.dim} wrap="truncate">
          {p.finished ? `${p.finished} — ` : ""}
          {p.paused ? `PAUSED (${p.pending} new)  ↑/↓ scroll  p resume` : "following"}
          {p.errorsOnly ? "  [errors only]" : ""}
          {"  ·  q quit  p pause  e errors only"}
        </Text>
      </Box>
    </>
  );
}

export interface Source {
  feed: ChangeFeed;
  backlog: StreamEvent[];
  filter: TailFilter;
  dbPath: string;
  executionId: string | undefined;
  io: IO;
}

/** Reads the header, waves and agents of the execution being followed. */
function snapshot(ctx: ReadContext, executionId: string | undefined): Pick<TailViewProps, "header" | "waves" | "agents"> {
  const empty: HeaderInfo = { executionId: executionId ?? null, status: null, elapsedMs: null, toolCalls: 0, errors: 0, passRate: null, tokens: null, costUsd: null };
  if (!executionId) return { header: empty, waves: [], agents: [] };
  const a = ctx.run(A001, { execution_id: executionId }).rows[0];
  const now = Date.parse(ctx.now);
  const header: HeaderInfo = a
    ? {
        executionId, status: a.status,
        elapsedMs: a.started_at ? (a.completed_at ? Date.parse(a.completed_at) : now) - Date.parse(a.started_at) : null,
        toolCalls: a.tool_calls, errors: a.errors, passRate: a.pass_rate,
        tokens: a.input_tokens === null ? null : (a.input_tokens ?? 0) + (a.output_tokens ?? 0), costUsd: a.cost_usd,
      }
    : empty;
  const waves = ctx.run(P001, { execution_id: executionId }).rows.map((w) => ({
    waveNumber: w.wave_number, status: w.status, total: w.total_tasks, completed: w.completed, failed: w.failed, running: w.running,
  }));
  const agents = (
    ctx.db
      .prepare(`SELECT id, status, task_id, last_heartbeat_at FROM build_agent_instances
                 WHERE execution_id = ? AND status NOT IN ('completed', 'failed', 'terminated')
                 ORDER BY spawned_at, id LIMIT 8`)
      .all(executionId) as { id: string; status: string | null; task_id: string | null; last_heartbeat_at: string | null }[]
  ).map((r) => {
    const since = r.last_heartbeat_at ? now - Date.parse(r.last_heartbeat_at) : null;
    return { instanceId: r.id, status: r.status, taskId: r.task_id, sinceHeartbeatMs: since, silent: since !== null && since > SILENT_MS };
  });
  return { header, waves, agents };
}

interface Flow {
  shown: FeedLine[];
  pending: FeedLine[];
  paused: boolean;
  errorsOnly: boolean;
  scroll: number;
}

/**
 * The live state of the view: the feed's events, pause and scroll, and the refreshed snapshot.
 * Everything that moves lines between "shown" and "pending" is one functional update of one
 * state, so a key pressed while events arrive can never act on a stale copy and lose them.
 */
export function useTail(src: Source) {
  const nextKey = useRef(0);
  const toLines = (events: StreamEvent[]) => events.map((event) => ({ key: nextKey.current++, event }));
  const [flow, setFlow] = useState<Flow>(() => ({
    shown: toLines(src.backlog.filter((e) => passes(e, src.filter, true))),
    pending: [],
    paused: false,
    errorsOnly: Boolean(src.filter.errorsOnly),
    scroll: 0,
  }));
  const [finished, setFinished] = useState<string | null>(null);
  // One read connection for the view's life; the header, waves and agents are re-read on it.
  const ctx = useRef<ReadContext | null>(null);
  ctx.current ??= new ReadContext(src.dbPath, src.io);
  const [snap, setSnap] = useState(() => snapshot(ctx.current!, src.executionId));

  useEffect(() => {
    let lastRefresh = 0;
    src.feed.start((events) => {
      const done = events.find((e) => e.type === "execution:status" && (e.status === "completed" || e.status === "failed") && (!src.executionId || e.executionId === src.executionId));
      if (done && done.type === "execution:status") setFinished(`${done.executionId} ${done.status}: the run is over`);
      setFlow((f) => {
        const visible = toLines(events.filter((e) => passes(e, { ...src.filter, errorsOnly: f.errorsOnly }, true)));
        if (!visible.length) return f;
        return f.paused ? { ...f, pending: [...f.pending, ...visible] } : { ...f, shown: [...f.shown, ...visible] };
      });
      // The header, waves and agents change with every batch; reading them 4 times a second is enough.
      const now = Date.now();
      if (now - lastRefresh > 250) {
        lastRefresh = now;
        setSnap(snapshot(ctx.current!, src.executionId));
      }
    });
    return () => {
      src.feed.close();
      ctx.current?.close();
      ctx.current = null;
    };
  }, []);

  const all = [...flow.shown, ...flow.pending];
  const WINDOW = 8;
  const end = Math.max(0, all.length - flow.scroll);
  return {
    view: {
      ...snap, lines: flow.shown, window: all.slice(Math.max(0, end - WINDOW), end), paused: flow.paused,
      pending: flow.pending.length, errorsOnly: flow.errorsOnly, finished,
    },
    togglePause: () =>
      setFlow((f) => (f.paused ? { ...f, shown: [...f.shown, ...f.pending], pending: [], paused: false, scroll: 0 } : { ...f, paused: true })),
    toggleErrors: () => setFlow((f) => ({ ...f, errorsOnly: !f.errorsOnly })),
    scrollBy: (n: number) => setFlow((f) => ({ ...f, scroll: Math.max(0, Math.min(f.shown.length + f.pending.length - 1, f.scroll + n)) })),
  };
}

export function TailApp({ src }: { src: Source }) {
  const { exit } = useApp();
  const t = useTail(src);
  useInput((input, key) => {
    if (input === "q" || (key.ctrl && input === "c")) exit();
    else if (input === "p") t.togglePause();
    else if (input === "e") t.toggleErrors();
    else if (key.upArrow && t.view.paused) t.scrollBy(1);
    else if (key.downArrow && t.view.paused) t.scrollBy(-1);
  });
  return <TailView {...t.view} width={Math.max(40, Math.min(src.io.columns, process.stdout.columns || 100))} />;
}

/** Runs the view until q or Ctrl-C; ink restores the terminal (raw mode, cursor) on exit. */
export async function runTailView(src: Source): Promise<number> {
  const app = render(<TailApp src={src} />, { exitOnCtrlC: false });
  await app.waitUntilExit();
  src.feed.close();
  return 0;
}
