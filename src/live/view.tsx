/**
 * `obs tail` on a terminal. The panels are laid out as lines of text that fit the width (pure
 * functions, so tests check them at any width); TailView places them, and useTail keeps them
 * current: the feed's events as they land, and the header, waves and agents re-read every
 * second whether or not anything landed, so a clock and a silence keep counting.
 */
import React, { useEffect, useRef, useState } from "react";
import { Box, render, Static, Text, useApp, useInput, useStdout } from "ink";
import { openReadOnly, type DB } from "../db/open.js";
import { palette, type IO, type Palette } from "../io.js";
import { stackedBar } from "../render/bars.js";
import { displayWidth, fmtInt, fmtMs, fmtPct, fmtUsd, visibleWidth, wrapWords } from "../render/format.js";
import { padColumns } from "../render/width.js";
import { heading, type Part } from "../render/heading.js";
import { agentOf, describe, isErrorEvent, type StreamEvent } from "./events.js";
import type { ChangeFeed } from "./feed.js";
import { passes, type EventFilter } from "./filter.js";
import { readSnapshot, shortExecutionIds, type AgentInfo, type HeaderInfo, type Snapshot, type WaveInfo } from "./snapshot.js";

export type { AgentInfo, HeaderInfo, WaveInfo } from "./snapshot.js";

/** A line of the feed: an event, or a note about the feed itself (a gap, a change of filter). */
export interface FeedLine { key: number; event?: StreamEvent; note?: string }

export interface TailViewProps {
  header: HeaderInfo;
  waves: WaveInfo[];
  agents: AgentInfo[];
  /** Agents past those listed. */
  agentsHidden?: number;
  /** Lines already shown; they stay above the live part. */
  lines: FeedLine[];
  /** Paused, the lines above hold still: nothing is added to them until resumed. */
  paused: boolean;
  layout?: LineLayout;
  pending: number;
  errorsOnly: boolean;
  /** "exec-103 failed" once the run has ended. */
  finished: string | null;
  width: number;
  color?: boolean;
  /** Changes when the terminal was resized: the feed is drawn again from `reprintFrom`. */
  epoch?: number;
  reprintFrom?: number;
}

/**
 * What a feed line carries besides the event: the execution's short id when the view follows
 * several, and the date once the lines span more than one day.
 */
export interface LineLayout {
  execution?: { short: (id: string) => string; width: number };
  dated?: boolean;
}

/** Event types a person should not miss: drawn in bold. */
const LOUD = new Set<string>(["execution:status", "wave:status", "loop:start"]);
const AGENT_COLUMN = 14;
const TYPE_COLUMN = 16;

/**
 * One event as lines of at most `width`: time, agent, type and what happened on one line when
 * it fits; else what happened wraps under it. Nothing is cut: ids, durations and counts stay whole.
 */
export function eventLines(e: StreamEvent, width: number, c: Palette, layout: LineLayout = {}): string[] {
  const time = (layout.dated && e.timestamp ? `${e.timestamp.slice(0, 10)} ` : "") + (e.timestamp.slice(11, 23) || "—");
  const run = layout.execution ? c.id(padColumns(layout.execution.short(e.executionId), layout.execution.width)) + "  " : "";
  const agent = agentOf(e) ?? "";
  const text = describe(e);
  const paint = (t: string) => {
    const s = isErrorEvent(e) ? c.error(t) : t;
    return LOUD.has(e.type) ? c.bold(s) : s;
  };
  const prefix = `${c.dim(time)}  ${run}${padColumns(agent, AGENT_COLUMN)}  ${c.accent(padColumns(e.type, TYPE_COLUMN))}  `;
  const indent = visibleWidth(prefix);
  if (indent + displayWidth(text) <= width) return [prefix + paint(text)];
  // Wide enough for the columns: the text wraps in its own column.
  if (width - indent >= 24) return wrapWords(text, width - indent).map((l, i) => (i ? " ".repeat(indent) : prefix) + paint(l));
  // Narrow: time, execution, type and agent, then the text on lines of its own.
  const head = [`${c.dim(time)}  ${run}${c.accent(e.type)}`, ...(agent ? [agent] : [])];
  const first = head.join("  ");
  const lines = visibleWidth(first) <= width ? [first] : head;
  return [...lines, ...wrapWords(text, width - 2).map((l) => "  " + paint(l))];
}

export function noteLines(note: string, width: number, c: Palette): string[] {
  return wrapWords(note, width).map((l) => c.warn(l));
}

export function lineText(l: FeedLine, width: number, c: Palette, layout: LineLayout = {}): string {
  return (l.event ? eventLines(l.event, width, c, layout) : noteLines(l.note ?? "", width, c)).join("\n");
}

/** The header: the run, its status and its figures, on as many lines as the width needs. */
export function headerLines(h: HeaderInfo, width: number, c: Palette): string[] {
  const fig = (label: string, value: string, style?: (s: string) => string): Part => ({ text: `${label} ${value}`, keep: true, style: (s) => c.dim(label) + " " + (style ? style(s.slice(label.length + 1)) : s.slice(label.length + 1)) });
  const status = h.status;
  const parts: Part[] = [
    { text: h.executionId ?? "all executions", keep: true, style: (s) => c.bold(c.id(s)) },
    ...(status ? [{ text: status, keep: true, style: status === "failed" ? c.error : status === "completed" ? c.ok : c.warn }] : []),
    ...(h.executionId
      ? [
          fig("elapsed", fmtMs(h.elapsedMs)),
          fig("tool calls", fmtInt(h.toolCalls)),
          fig("errors", fmtInt(h.errors), h.errors ? c.error : undefined),
          fig("pass rate", fmtPct(h.passRate)),
          ...(h.tokens !== null ? [fig("tokens", fmtInt(h.tokens)), fig("cost", h.costUsd === null ? "unknown" : fmtUsd(h.costUsd))] : []),
        ]
      : []),
  ];
  return heading(parts, width).split("\n");
}

/** The wave bars' parts, as `obs waves` draws them: told apart by their characters, colour or not. */
const WAVE_PARTS = [
  { key: "completed", char: "█", label: "done" },
  { key: "failed", char: "▓", label: "failed" },
  { key: "running", char: "▒", label: "running" },
] as const;

export function waveLines(waves: WaveInfo[], width: number, c: Palette): string[] {
  if (!waves.length) return [];
  const counts = (w: WaveInfo) => `${w.completed}/${w.total} done${w.failed ? `, ${w.failed} failed` : ""}${w.running ? `, ${w.running} running` : ""}`;
  // One width for every bar, so that equal shares look equal: the widest (up to 20) with which
  // every wave's counts and status stay on its line, never under 5.
  const cells = Math.max(5, Math.min(20, ...waves.map((w) => width - 8 - 2 - counts(w).length - (w.status ? 2 + w.status.length : 0))));
  const hue = (s: string) => s.replace(/█+/g, (m) => c.ok(m)).replace(/▓+/g, (m) => c.error(m)).replace(/▒+/g, (m) => c.warn(m)).replace(/·+/g, (m) => c.dim(m));
  const lines = waves.flatMap((w) => {
    const drawn = stackedBar(WAVE_PARTS.map((p) => ({ n: w[p.key], char: p.char })), w.total, cells);
    const parts: Part[] = [
      { text: `wave ${String(w.waveNumber).padStart(2)} ${drawn}`, keep: true, style: (s) => c.dim(s.slice(0, 8)) + hue(s.slice(8)) },
      { text: counts(w), keep: true, style: (s) => s.replace(/\d+ failed/, (m) => c.error(m)) },
      ...(w.status ? [{ text: w.status, keep: true, style: c.dim }] : []),
    ];
    return heading(parts, width).split("\n");
  });
  // What the characters mean, once a bar has more than done and not started.
  if (waves.some((w) => w.failed || w.running)) {
    const legend = [...WAVE_PARTS.map((p) => `${p.char} ${p.label}`), "· not started"];
    lines.push(...heading(legend.map((text) => ({ text, keep: true, style: c.dim })), width).split("\n"));
  }
  return lines;
}

export function agentLines(agents: AgentInfo[], hidden: number, width: number, c: Palette): string[] {
  if (!agents.length) return [];
  const idW = Math.max(...agents.map((a) => displayWidth(a.instanceId)));
  const stW = Math.max(...agents.map((a) => displayWidth(a.status ?? "")));
  const taskW = Math.max(...agents.map((a) => displayWidth(a.taskId ?? "—")));
  const out = [c.dim(`agents${hidden ? ` (${hidden} more not shown)` : ""}`)];
  for (const a of agents) {
    const quiet = `last heartbeat ${fmtMs(a.sinceHeartbeatMs)} ago`;
    const hue = a.status === "failed" || a.status === "error" ? c.error : (s: string) => s;
    const aligned = `  ${padColumns(a.instanceId, idW)}  ${padColumns(a.status ?? "", stW)}  ${padColumns(a.taskId ?? "—", taskW)}  ${quiet}${a.silent ? "  SILENT" : ""}`;
    if (displayWidth(aligned) <= width) {
      out.push(`  ${c.id(padColumns(a.instanceId, idW))}  ${hue(padColumns(a.status ?? "", stW))}  ${padColumns(a.taskId ?? "—", taskW)}  ${a.silent ? c.error(quiet + "  SILENT") : c.dim(quiet)}`);
      continue;
    }
    const parts: Part[] = [
      { text: `  ${a.instanceId}`, keep: true, style: (s) => "  " + c.id(s.slice(2)) },
      { text: a.status ?? "", keep: true, style: hue },
      { text: a.taskId ?? "—", keep: true },
      { text: quiet, keep: true, style: a.silent ? c.error : c.dim },
      ...(a.silent ? [{ text: "SILENT", keep: true, style: c.error }] : []),
    ];
    out.push(...heading(parts, width).split("\n"));
  }
  return out;
}

/** The last line: what the view is doing, and the keys that change it (one action per key). */
export function footerLines(p: Pick<TailViewProps, "paused" | "pending" | "errorsOnly" | "finished">, width: number, c: Palette): string[] {
  const parts: Part[] = [];
  if (p.finished) parts.push({ text: `${p.finished}: the run is over`, keep: true, style: (s) => c.bold(c.warn(s)) });
  if (p.paused) parts.push({ text: `PAUSED (${fmtInt(p.pending)} new)`, keep: true, style: c.warn });
  else if (!p.finished) parts.push({ text: "following", keep: true, style: c.dim });
  if (p.errorsOnly) parts.push({ text: "[errors only]", keep: true, style: c.warn });
  parts.push({ text: "·", keep: true, style: c.dim });
  const keys = p.paused ? ["p resume", "e errors only", "q quit"] : ["p pause", "e errors only", "q quit"];
  for (const k of keys) parts.push({ text: k, keep: true, style: c.dim });
  return heading(parts, width).split("\n");
}

/**
 * The footer as tall paused as following: were p to grow the box by a line, the terminal would
 * scroll the feed's top line away, and resuming would leave a blank line where it was.
 */
function steadyFooter(p: Pick<TailViewProps, "paused" | "pending" | "errorsOnly" | "finished">, width: number, c: Palette): string[] {
  const lines = footerLines(p, width, c);
  const other = footerLines({ ...p, paused: !p.paused }, width, c).length;
  return [...lines, ...Array<string>(Math.max(0, other - lines.length)).fill(" ")];
}

function Lines({ lines }: { lines: string[] }) {
  return <>{lines.map((l, i) => <Text key={i}>{l}</Text>)}</>;
}

export function TailView(p: TailViewProps) {
  const c = palette(Boolean(p.color));
  // Inside the box: a border and a space each side.
  const inner = Math.max(10, p.width - 4);
  const printed = p.lines.slice(p.reprintFrom ?? 0);
  return (
    <>
      <Static key={p.epoch ?? 0} items={printed}>{(l) => <Text key={l.key}>{lineText(l, p.width, c, p.layout)}</Text>}</Static>
      <Box flexDirection="column" borderStyle="single" {...(p.color ? { borderColor: "gray" } : {})} paddingX={1} width={p.width}>
        <Lines lines={headerLines(p.header, inner, c)} />
        <Lines lines={waveLines(p.waves, inner, c)} />
        <Lines lines={agentLines(p.agents, p.agentsHidden ?? 0, inner, c)} />
        <Lines lines={steadyFooter(p, inner, c)} />
      </Box>
    </>
  );
}

export interface Source {
  feed: ChangeFeed;
  backlog: StreamEvent[];
  filter: EventFilter;
  dbPath: string;
  executionId: string | undefined;
  io: IO;
  /** The clock (ms); tests move it by hand. OBS_NOW fixes it. */
  clock?: () => number;
}

interface Flow {
  shown: FeedLine[];
  pending: FeedLine[];
  /** Events held back while "errors only" is on, to be shown when it is turned off. */
  hidden: StreamEvent[];
  hiddenDropped: number;
  paused: boolean;
  errorsOnly: boolean;
  /** The day of the first line, and whether a line of another day has come since. */
  firstDay: string | null;
  dated: boolean;
}

/** `add` after the lines shown, or while paused after those waiting; and whether the lines now span more than a day. */
function place(f: Flow, add: FeedLine[]): Pick<Flow, "shown" | "pending" | "firstDay" | "dated"> {
  let { firstDay, dated } = f;
  for (const l of add) {
    const day = l.event?.timestamp.slice(0, 10);
    if (!day) continue;
    firstDay ??= day;
    if (day !== firstDay) dated = true;
  }
  return f.paused ? { shown: f.shown, pending: [...f.pending, ...add], firstDay, dated } : { shown: [...f.shown, ...add], pending: f.pending, firstDay, dated };
}

/** Events held back while "errors only" is on; older ones past this are counted, not kept. */
const HIDDEN_KEPT = 1000;
/** How often the header, waves and agents are re-read when something landed, and when nothing did. */
const BUSY_MS = 250;
const IDLE_MS = 1000;

const plural = (n: number, one: string, many = one + "s") => `${fmtInt(n)} ${n === 1 ? one : many}`;

/**
 * The live state of the view. Everything that moves lines between "shown", "pending" and
 * "hidden" is one functional update of one state, so a key pressed while events arrive can
 * never act on a stale copy and lose them.
 */
export function useTail(src: Source) {
  const nextKey = useRef(0);
  const line = (x: { event?: StreamEvent; note?: string }): FeedLine => ({ key: nextKey.current++, ...x });
  const base: EventFilter = { ...src.filter, errorsOnly: false };
  const [flow, setFlow] = useState<Flow>(() => {
    const empty: Flow = { shown: [], pending: [], hidden: [], hiddenDropped: 0, paused: false, errorsOnly: Boolean(src.filter.errorsOnly), firstDay: null, dated: false };
    return { ...empty, ...place(empty, src.backlog.filter((e) => passes(e, src.filter, true)).map((event) => line({ event }))) };
  });
  const now = () => {
    const fixed = src.io.env.OBS_NOW;
    if (fixed && !Number.isNaN(Date.parse(fixed))) return new Date(fixed).toISOString();
    return new Date(src.clock ? src.clock() : Date.now()).toISOString();
  };
  // One read connection for the view's life; the panels are re-read on it.
  const db = useRef<DB | null>(null);
  db.current ??= openReadOnly(src.dbPath);
  const [snap, setSnap] = useState<Snapshot & { agentsHidden: number }>(() => readSnapshot(db.current!, src.executionId, now()));
  // Following every execution, each line names its own, by a short id that begins no other.
  const several = !src.executionId;
  const [shorts, setShorts] = useState(() => (several ? shortExecutionIds(db.current!, src.backlog.map((e) => e.executionId)) : new Map<string, string>()));
  const known = useRef(shorts);

  useEffect(() => {
    let dirty = false;
    let last = Date.now();
    src.feed.start((events) => {
      dirty = true;
      // A new execution: the short ids are worked out again, so none begins another.
      if (several && db.current && events.some((e) => !known.current.has(e.executionId))) {
        known.current = shortExecutionIds(db.current, [...known.current.keys(), ...events.map((e) => e.executionId)]);
        setShorts(known.current);
      }
      setFlow((f) => {
        const add: FeedLine[] = [];
        const hidden = [...f.hidden];
        let dropped = f.hiddenDropped;
        for (const e of events) {
          if (!passes(e, base, true)) continue;
          if (f.errorsOnly && !isErrorEvent(e)) hidden.push(e);
          else add.push(line({ event: e }));
        }
        if (hidden.length > HIDDEN_KEPT) dropped += hidden.splice(0, hidden.length - HIDDEN_KEPT).length;
        if (!add.length && hidden.length === f.hidden.length) return f;
        return { ...f, ...place(f, add), hidden, hiddenDropped: dropped };
      });
    });
    // The clock moves on its own: a quiet agent grows silent, elapsed counts, with nothing landing.
    const timer = setInterval(() => {
      const t = Date.now();
      if ((dirty && t - last >= BUSY_MS) || t - last >= IDLE_MS) {
        dirty = false;
        last = t;
        if (db.current) setSnap(readSnapshot(db.current, src.executionId, now()));
      }
    }, BUSY_MS);
    return () => {
      clearInterval(timer);
      src.feed.close();
      db.current?.close();
      db.current = null;
    };
  }, []);

  return {
    view: {
      ...snap, finished: snap.ended, lines: flow.shown, paused: flow.paused, pending: flow.pending.length, errorsOnly: flow.errorsOnly,
      layout: {
        dated: flow.dated,
        ...(several ? { execution: { short: (id: string) => shorts.get(id) ?? id, width: Math.max(0, ...[...shorts.values()].map((v) => displayWidth(v))) } } : {}),
      },
    },
    /**
     * Paused, what is on the screen holds still: new events are counted, not drawn, and on resume
     * they are printed below the rest, in order, once each. Nothing of the feed is drawn in the
     * live part meanwhile — the lines above it are already on the screen, so that would show
     * them twice, and the live part shrinking again on resume would leave a blank block where
     * the screen had scrolled; the terminal's own scrollback is the way to read back.
     */
    togglePause: () =>
      setFlow((f) => (f.paused ? { ...f, shown: [...f.shown, ...f.pending], pending: [], paused: false } : { ...f, paused: true })),
    /** Turning "errors only" off shows what it held back, after a note that says so. */
    toggleErrors: () =>
      setFlow((f) => {
        let add: FeedLine[];
        if (f.errorsOnly) {
          const n = f.hidden.length + f.hiddenDropped;
          const note = n === 0
            ? "── errors only off: no other events arrived meanwhile ──"
            : `── errors only off: ${plural(n, "other event")} arrived meanwhile${f.hiddenDropped ? ` (the last ${fmtInt(f.hidden.length)} below)` : ""} ──`;
          add = [line({ note }), ...f.hidden.map((event) => line({ event }))];
        } else {
          add = [line({ note: "── errors only from here (e shows every event again) ──" })];
        }
        return { ...f, ...place(f, add), hidden: [], hiddenDropped: 0, errorsOnly: !f.errorsOnly };
      }),
  };
}

/** The terminal's width: COLUMNS when set, else the terminal's own, followed as it is resized. */
function useWidth(io: IO) {
  const { stdout } = useStdout();
  const fixed = Number(io.env.COLUMNS) > 0 ? Number(io.env.COLUMNS) : 0;
  const measure = () => Math.max(20, fixed || stdout.columns || (Number.isFinite(io.columns) ? io.columns : 100));
  const [size, setSize] = useState(() => ({ width: measure(), epoch: 0 }));
  const width = useRef(size.width);
  useEffect(() => {
    if (fixed) return;
    // After ink's own handler, which draws the old layout once more: the screen is cleared and
    // everything drawn again at the new width, so nothing drawn at the old width is left
    // half-erased (a terminal rewraps old lines as it resizes, and ink erases by line count).
    const onResize = () => {
      const now = measure();
      if (now === width.current) return;
      width.current = now;
      stdout.write("\x1b[2J\x1b[H");
      setSize((s) => ({ width: now, epoch: s.epoch + 1 }));
    };
    stdout.on("resize", onResize);
    return () => void stdout.off("resize", onResize);
  }, []);
  return { ...size, rows: stdout.rows || 30 };
}

export function TailApp({ src }: { src: Source }) {
  const { exit } = useApp();
  const t = useTail(src);
  const size = useWidth(src.io);
  // Drawn again after a resize: the screenful of the feed that was on the screen.
  const reprintFrom = useRef(0);
  const seenEpoch = useRef(0);
  if (seenEpoch.current !== size.epoch) {
    seenEpoch.current = size.epoch;
    reprintFrom.current = Math.max(0, t.view.lines.length - size.rows);
  }
  useInput((input, key) => {
    if (input === "q" || (key.ctrl && input === "c")) exit();
    else if (input === "p") t.togglePause();
    else if (input === "e") t.toggleErrors();
  });
  return <TailView {...t.view} width={size.width} color={src.io.color} epoch={size.epoch} reprintFrom={reprintFrom.current} />;
}

/** Runs the view until q or Ctrl-C; ink restores the terminal (raw mode, cursor) on exit. */
export async function runTailView(src: Source): Promise<number> {
  const app = render(<TailApp src={src} />, { exitOnCtrlC: false });
  await app.waitUntilExit();
  src.feed.close();
  return 0;
}
