import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { costOf } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { fileLines } from "../lines.js";
import { parseJson } from "../text.js";
import { changed, cmpTime, Column, jsonLine, timeOf, timeText, type Time } from "./shared.js";
import type { Adapter, AdapterContext, AdapterInput, AdapterRead, AdapterSummary, BadLine, J } from "./types.js";

/**
 * Claude Code sessions (~/.claude/projects/<project>/<session>.jsonl) as obs events.
 *
 * A session is an execution (its task list is the project folder; cwd and git branch kept).
 * Each user prompt starts a task (a turn) that the main agent works until the next prompt.
 * Each tool_use block is a tool call started at its line's time and ended by the tool_result
 * with the same id. Text and thinking become transcript entries, API errors error entries.
 * Subagents are agents of the session working a task named after the Task call that spawned
 * them: in 1.x their lines sit in the session file (isSidechain), in 2.x they have files of
 * their own under <session>/subagents/ (joined through the Task result's agentId). Token usage
 * becomes one model call per API response: the lines of one streamed response repeat its
 * usage, growing, so the largest of each count is the response's.
 *
 * Lines are taken in time order (their file order is not), the file read twice in bounded
 * memory (claudeCodeRead). Lines that carry nothing obs uses (snapshots, progress, queue
 * operations, system notes) are skipped and counted.
 */

type Block = { type?: string; id?: string; name?: string; input?: unknown; text?: string; thinking?: string; tool_use_id?: string; content?: unknown; is_error?: boolean };

const SKIPPED_TYPES = new Set(["file-history-snapshot", "progress", "queue-operation", "system"]);

/** Whether parsed lines look like a Claude Code session. */
function looksLikeClaudeCode(first: J[]): boolean {
  return first.some((o) => typeof o.sessionId === "string" || (o.type === "summary" && "leafUuid" in o) || o.type === "file-history-snapshot");
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((b: Block) => (b?.type === "text" ? (b.text ?? "") : b?.type === "tool_result" ? textOf(b.content) : ""))
      .filter(Boolean)
      .join("\n");
  }
  return "";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The session a 2.x subagent file belongs to: <project>/<session>/subagents/agent-x.jsonl, or a
 * workflow's agents in <project>/<session>/subagents/workflows/<name>/agent-x.jsonl.
 */
function subagentSession(file: string): { sessionFile: string; sessionDir: string; project: string; workflow: string | null } | null {
  const parts = path.resolve(file).split(path.sep);
  const at = parts.lastIndexOf("subagents");
  if (at < 2) return null;
  const sessionDir = parts.slice(0, at).join(path.sep);
  const workflow = parts[at + 1] === "workflows" && parts.length > at + 3 ? parts[at + 2]! : null;
  return {
    sessionFile: `${sessionDir}.jsonl`,
    sessionDir,
    project: parts[at - 2]!,
    workflow,
  };
}

/** What the session says of one of its subagents: the Task call that started it and its type. */
interface Spawn {
  call: string | null;
  agentType: string | null;
  description: string | null;
}

/**
 * A subagent's sidecar (agent-x.meta.json beside agent-x.jsonl), when Claude Code wrote one: the
 * agent's type and the Task call that started it, without reading the whole session again.
 */
function sidecarOf(file: string): Spawn | null {
  const meta = file.replace(/\.jsonl$/, ".meta.json");
  let o: J;
  try {
    o = parseJson(fs.readFileSync(meta, "utf8")) as J;
  } catch {
    return null;
  }
  if (!o || typeof o !== "object") return null;
  const s = (...keys: string[]) => keys.map((k) => o[k]).find((v): v is string => typeof v === "string" && v !== "") ?? null;
  return { call: s("toolUseId", "toolUseID", "parentToolUseId", "parentToolUseID", "tool_use_id"), agentType: s("agentType", "subagent_type", "subagentType"), description: s("description") };
}

/**
 * What a session file says of the subagents it started: for each agent id, the Task call whose
 * result names it (toolUseResult.agentId) with its type and description, or while it still
 * works (no result yet) the call its echoed messages name (progress lines' parentToolUseID).
 * Read once per session for all its subagents' files (through the run's memo), line by line,
 * and again when the session's file has changed since (a run being followed).
 */
const SPAWN_NEEDLES = ['"agentId"', '"subagent_type"', '"name":"Task"'].map((t) => Buffer.from(t));

function spawnsOf(sessionFile: string): Map<string, Spawn> {
  const byAgent = new Map<string, { call: string; agentType: string | null }>();
  const working = new Map<string, string>();
  const calls = new Map<string, { agentType: string | null; description: string | null }>();
  let fd: number;
  try {
    fd = fs.openSync(sessionFile, "r");
  } catch {
    return new Map();
  }
  try {
    // Only two kinds of line matter: a Task result naming its agent, and a Task call (its type,
    // its description); the others are passed over unread.
    for (const { text: l } of fileLines(fd, { start: 0, firstLine: 1, holding: SPAWN_NEEDLES }, fs.fstatSync(fd).size)) {
      try {
        const o = parseJson(l) as J;
        const data = o.data as J | undefined;
        if (o.type === "progress" && data?.type === "agent_progress" && typeof data.agentId === "string" && typeof o.parentToolUseID === "string" && !working.has(data.agentId)) {
          working.set(data.agentId, o.parentToolUseID);
        }
        const tur = o.toolUseResult as J | undefined;
        const blocks = ((o.message as J)?.content ?? []) as Block[];
        if (!Array.isArray(blocks)) continue;
        if (typeof tur?.agentId === "string" && !byAgent.has(tur.agentId)) {
          const result = blocks.find((b) => b?.type === "tool_result");
          if (result?.tool_use_id) byAgent.set(tur.agentId, { call: result.tool_use_id, agentType: typeof tur.agentType === "string" ? tur.agentType : null });
        }
        for (const b of blocks) {
          if (b?.type !== "tool_use" || !b.id) continue;
          const input = (b.input ?? {}) as J;
          calls.set(b.id, { agentType: typeof input.subagent_type === "string" ? input.subagent_type : null, description: typeof input.description === "string" ? input.description : null });
        }
      } catch {
        /* another line's problem, reported when that file is read */
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  const out = new Map<string, Spawn>();
  for (const [agent, call] of working) if (!byAgent.has(agent)) byAgent.set(agent, { call, agentType: null });
  for (const [agent, { call, agentType }] of byAgent) {
    const use = calls.get(call);
    out.set(agent, { call, agentType: agentType ?? use?.agentType ?? null, description: use ? use.description : null });
  }
  return out;
}

/** The spawns of a session as its file is now (see spawnsOf). */
function spawnsNow(ctx: AdapterContext, sessionFile: string): Map<string, Spawn> {
  const held = ctx.memo(`claude-code:spawns:${sessionFile}`, () => ({ stamp: "", spawns: new Map<string, Spawn>() }));
  let stamp = "none";
  try {
    const st = fs.statSync(sessionFile);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    /* no session file (yet): no spawns */
  }
  if (held.stamp !== stamp) {
    held.stamp = stamp;
    held.spawns = spawnsOf(sessionFile);
  }
  return held.spawns;
}

/** The tokens of one API response's usage: cache writes split into 5-minute and 1-hour ones. */
function usageOf(usage: J): { input: number; output: number; cacheRead: number; write5m: number; write1h: number } {
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);
  const breakdown = usage.cache_creation as J | undefined;
  const total = n(usage.cache_creation_input_tokens);
  // Without a breakdown every write is a 5-minute one, as Claude Code wrote them before 1-hour caching.
  const write1h = breakdown ? n(breakdown.ephemeral_1h_input_tokens) : 0;
  const write5m = breakdown && "ephemeral_5m_input_tokens" in breakdown ? n(breakdown.ephemeral_5m_input_tokens) : Math.max(0, total - write1h);
  return { input: n(usage.input_tokens), output: n(usage.output_tokens), cacheRead: n(usage.cache_read_input_tokens), write5m, write1h };
}

/** What a line's text hashes to: a sidechain's first prompt is matched to its Task call's by it, without keeping either text. */
const digestOf = (text: string): string => crypto.createHash("sha1").update(text).digest("base64");

// What kind of line a row is, and what else it is (bits of its flags).
const PROGRESS = 1; // a subagent's messages echoed into the session
const SKIPPED = 2; // a snapshot, progress, queue operation or system note
const SUMMARY = 3;
const OTHER = 4; // no kind this adapter reads
const USER = 5;
const ASSISTANT = 6;
const KIND = 7;
const SIDECHAIN = 8;
const PROMPT = 16; // a user's prompt (it starts a turn when the main agent's)
const EMITS = 32; // it makes events of its own where it stands in time

/** A sidechain line as its conversation is walked to its root (or a later line with its uuid, which hides it). */
interface SideLine {
  uuid: unknown;
  parentUuid: unknown;
  side: boolean;
  /** The digest of its text (a root's text is its prompt). */
  digest: string;
}

/** A subagent's response echoed on a progress line. */
interface Echo {
  agentId: string;
  task: string | null;
  /** The echoed message's own time, when it has one (else the line's). */
  at: Time | null;
}

// What is given at the end of a time (kinds of End).
const CALL = 0;
const TURN_END = 1;
const WORKING = 2;
const DONE = 3;
const START = 4;
const FINISH = 5;
const OWN_TASK = 6;
const OWN_TASK_END = 7;

/** One API response, over all its lines: the largest of each count, its latest time, and who made it (its first line in time order). */
interface Response {
  k: typeof CALL;
  id: string;
  first: number;
  model: string;
  echo: Echo | null;
  agent: string;
  task: string | null;
  input: number;
  output: number;
  cacheRead: number;
  write5m: number;
  write1h: number;
  cost: number | null;
  /** Its latest line's time, when its call is given. */
  t: Time;
}

/** Up to this many characters of lines, a session's parsed lines are kept between its two readings. */
const KEEP_CHARS = 8 * 1024 * 1024;

/**
 * Sorts lines in place by merging the runs that are already in order (a Claude Code file is
 * nearly in time order: a few long runs, merged in a pass or two), with one buffer of their size.
 */
function sortLines(a: Int32Array<ArrayBuffer>, cmp: (x: number, y: number) => number): Int32Array<ArrayBuffer> {
  const n = a.length;
  let bounds: number[] = [0];
  for (let i = 1; i < n; i++) if (cmp(a[i - 1]!, a[i]!) > 0) bounds.push(i);
  bounds.push(n);
  if (bounds.length <= 2) return a;
  let src = a;
  let dst = new Int32Array(n);
  while (bounds.length > 2) {
    const next = [0];
    for (let r = 0; r < bounds.length - 1; r += 2) {
      const lo = bounds[r]!;
      const mid = bounds[r + 1]!;
      const hi = r + 2 < bounds.length ? bounds[r + 2]! : mid;
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) dst[k++] = cmp(src[i]!, src[j]!) <= 0 ? src[i++]! : src[j++]!;
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
      next.push(hi);
    }
    bounds = next;
    [src, dst] = [dst, src];
  }
  return src;
}

type End =
  | Response
  | { k: typeof TURN_END; t: Time; task: string }
  | { k: typeof WORKING | typeof DONE; t: Time; agent: string; type: string; task: string | null }
  | { k: typeof START | typeof FINISH | typeof OWN_TASK | typeof OWN_TASK_END; t: Time };

type AgentOf = { agent: string; task: string | null };

/**
 * A session read twice, and never held whole. The first reading keeps a few facts of each line:
 * its number, length, time and kind, and only for the lines that have them its links (a
 * sidechain's uuids, a Task call, a prompt's uuid, an echoed response), then each response's
 * token counts and each agent's first and last times. From them it works out the time order
 * and everything given at the end of a time (a response's model call at its last line's time,
 * turns', agents' and the session's ends). The second reading makes each line's events in time
 * order as it comes, holding back only the lines that come later in the file than in time.
 * The events are those of one sort of the whole file by time (ties in file order, each line's
 * events before what is given at the end of its time), so the sequence they fold in is too.
 *
 * Each step is a method of its own and the generator that drives them is a few lines: V8
 * compiles a function whole, and one generator holding all of this was compiled several times
 * per run at ~0.4 s each, more than the reading itself costs on a folder of small sessions.
 */
class SessionRead {
  readonly bad: BadLine[] = [];
  private readonly prices: AdapterContext["prices"];

  // ---- first reading: a few facts per line ----
  rows = 0;
  private readonly nOf = new Column((k) => new Int32Array(k));
  private readonly lenOf = new Column((k) => new Int32Array(k));
  private readonly msOf = new Column((k) => new Float64Array(k)); // a canonical time's milliseconds; NaN for any other time, or none known yet
  private readonly flagsOf = new Column((k) => new Uint8Array(k));
  private readonly textTime = new Map<number, string>(); // the times that are no canonical ISO time
  private readonly sideOf = new Map<number, SideLine>();
  private readonly byUuid = new Map<unknown, SideLine>();
  private readonly tasksOf = new Map<number, { id: string; prompt: string; type: string | null }[]>();
  private readonly echoOf = new Map<number, Echo>();
  private readonly promptUuid = new Map<number, unknown>();
  private readonly responses = new Map<string, Response>();
  // Lines before the first with a time take that time: what depends on theirs waits for it.
  private firstT: Time | undefined;
  private lastT: Time | undefined;
  private pending: (() => void)[] = [];
  private readonly ownNameOf: string;
  private namesOwn = false;
  private lastNamed: string | null = null;
  private agentIdOfFile: string | undefined;
  private readonly sessionFirst = new Map<string | undefined, number>(); // each session id's first line in time order
  private cwdAt = -1;
  private cwd: string | undefined;
  private branchAt = -1;
  private branch: string | undefined;
  // The same few texts (a model's name, an agent's) on many responses are kept once.
  private readonly texts = new Map<string, string>();
  // A small session's lines, as the first reading parsed them, are kept for the second, which
  // then does not read the file again: most sessions are small, and parsing is most of the cost.
  kept: J[] | null = [];
  private keptChars = 0;

  // ---- what the facts say, worked out between the readings ----
  private skipped = 0;
  private sessionId = "";
  private readonly sub: ReturnType<typeof subagentSession>;
  private subagentFile: string | null = null;
  private project = "";
  private spawn: Spawn | null = null;
  private spawnedBy: string | null = null;
  private taskOfFile: string | null = null;
  private order = new Int32Array(0);
  private endT: Time = 0;
  private readonly taskPrompts = new Map<string, string>(); // Task call id → its prompt's digest, to find the sidechain it started
  private readonly taskTypes = new Map<string, string>(); // Task call id → the subagent_type it asked for
  private readonly sidechainTask = new Map<string, string>();
  private readonly sidechainAgent = new Map<string, { agent: string; task: string }>();
  private mainAgent: AgentOf = { agent: "", task: null };
  private fileAgent: AgentOf = { agent: "", task: null };
  private readonly agents = new Map<string, { first: Time; last: Time; task: string | null }>();
  private ends: End[] = [];
  private nextEnd = 0;
  private ownTask: string | null = null;
  private ownKind = "subagent";

  // ---- second reading ----
  /** The lines that make events, in time order: the order the second reading gives them in. */
  emitOrder = new Int32Array(0);
  /** How many of emitOrder are given. */
  next = 0;
  private row = 0;
  /** Lines that come later in the file than in time, waiting for their turn. */
  private readonly held = new Map<number, string>();
  private turnNo = 0;
  private turn: string | null = null;
  private readonly taskCalls = new Set<string>();
  private tsAt: Time | null = null;
  private tsText = "";

  constructor(
    private readonly file: string,
    private readonly ctx: AdapterContext,
  ) {
    this.prices = ctx.prices;
    this.sub = subagentSession(file);
    this.ownNameOf = path.basename(this.sub?.sessionDir ?? file, ".jsonl");
  }

  private timeAt(i: number): Time | undefined {
    const ms = this.msOf.get(i);
    return ms === ms ? ms : this.textTime.get(i);
  }
  private setTime(i: number, t: Time): void {
    if (typeof t === "number") this.msOf.set(i, t);
    else {
      this.msOf.set(i, NaN);
      this.textTime.set(i, t);
    }
  }
  /** A time as text, the last one remembered: a line's events and the ends of its time share it. */
  private text(t: Time): string {
    if (t !== this.tsAt) {
      this.tsAt = t;
      this.tsText = timeText(t);
    }
    return this.tsText;
  }
  /** Time order of two lines, ties in file order; lines waiting for the first time are all at it. */
  private readonly before = (a: number, b: number): number => {
    const x = this.timeAt(a);
    const y = this.timeAt(b);
    return (x === undefined || y === undefined ? 0 : cmpTime(x, y)) || a - b;
  };
  private respond(id: string, model: string, row: number, at: Time, usage: J, costUSD: unknown, echo: Echo | null): void {
    const u = usageOf(usage);
    let r = this.responses.get(id);
    if (!r) {
      r = { k: CALL, id, first: row, model, echo, agent: "", task: null, input: 0, output: 0, cacheRead: 0, write5m: 0, write1h: 0, cost: null, t: at };
      this.responses.set(id, r);
    } else if (this.before(row, r.first) < 0) {
      r.first = row;
      r.model = model;
      r.echo = echo;
    }
    r.input = Math.max(r.input, u.input);
    r.output = Math.max(r.output, u.output);
    r.cacheRead = Math.max(r.cacheRead, u.cacheRead);
    r.write5m = Math.max(r.write5m, u.write5m);
    r.write1h = Math.max(r.write1h, u.write1h);
    if (typeof costUSD === "number" && Number.isFinite(costUSD)) r.cost = Math.max(r.cost ?? 0, costUSD);
    if (cmpTime(at, r.t) > 0) r.t = at;
  }
  private intern(s: string): string {
    const had = this.texts.get(s);
    if (had !== undefined) return had;
    this.texts.set(s, s);
    return s;
  }
  private whenTimed(f: () => void): void {
    if (this.firstT === undefined) this.pending.push(f);
    else f();
  }

  /** The first reading of one line. */
  note(text: string, n: number, invalid: string | undefined): void {
    const o = jsonLine(this.file, text, n, invalid, this.bad);
    if (!o) return;
    const i = this.rows++;
    if (this.kept) {
      this.keptChars += text.length;
      if (this.keptChars <= KEEP_CHARS) this.kept.push(o);
      else this.kept = null;
    }
    this.nOf.set(i, n);
    this.lenOf.set(i, text.length);
    this.msOf.set(i, NaN);
    this.noteTime(i, o.timestamp);
    this.noteContext(i, o);
    this.flagsOf.set(i, this.noteKind(i, o));
  }

  /** Its time: its own; a line without one, the one before's; an empty one, the first line's. */
  private noteTime(i: number, ts: unknown): void {
    if (typeof ts === "string" && ts !== "") {
      const t = timeOf(ts);
      if (this.firstT === undefined) {
        this.firstT = t;
        for (let j = 0; j < i; j++) this.setTime(j, t);
      }
      this.lastT = t;
      this.setTime(i, t);
      if (this.pending.length) {
        const waiting = this.pending;
        this.pending = [];
        for (const f of waiting) f();
      }
    } else if (typeof ts === "string") {
      if (this.firstT !== undefined) this.setTime(i, this.firstT);
    } else if (this.lastT !== undefined) this.setTime(i, this.lastT);
  }

  /** The session, agent, working directory and branch a line names. */
  private noteContext(i: number, o: J): void {
    if (typeof o.sessionId === "string") {
      if (o.sessionId === this.ownNameOf) this.namesOwn = true;
      this.lastNamed = o.sessionId;
    }
    if (o.sessionId === undefined || typeof o.sessionId === "string") {
      const s = o.sessionId as string | undefined;
      const at = this.sessionFirst.get(s);
      if (at === undefined || this.before(i, at) < 0) this.sessionFirst.set(s, i);
    }
    if (this.agentIdOfFile === undefined && typeof o.agentId === "string") this.agentIdOfFile = o.agentId;
    if (typeof o.cwd === "string" && (this.cwdAt < 0 || this.before(i, this.cwdAt) < 0)) {
      this.cwdAt = i;
      this.cwd = o.cwd;
    }
    if (typeof o.gitBranch === "string" && o.gitBranch !== "" && (this.branchAt < 0 || this.before(i, this.branchAt) < 0)) {
      this.branchAt = i;
      this.branch = o.gitBranch;
    }
  }

  /** A line's kind and links (its flags), and the usage it carries. */
  private noteKind(i: number, o: J): number {
    const type = o.type as string | undefined;
    const msg = (o.message ?? {}) as J;
    let flags = o.isSidechain ? SIDECHAIN : 0;
    // What a sidechain's walk to its root needs; a later line with the same uuid hides an earlier one.
    const uuid = o.uuid;
    if (o.isSidechain) {
      const s: SideLine = { uuid, parentUuid: o.parentUuid, side: true, digest: digestOf(textOf(msg.content).trim()) };
      this.sideOf.set(i, s);
      if (uuid === null || typeof uuid !== "object") this.byUuid.set(uuid, s);
    } else if ((uuid === null || typeof uuid !== "object") && this.byUuid.has(uuid)) {
      const content = type && SKIPPED_TYPES.has(type) ? undefined : msg.content;
      this.byUuid.set(uuid, { uuid, parentUuid: o.parentUuid, side: false, digest: digestOf(textOf(content).trim()) });
    }

    const data = o.data as J | undefined;
    if (type === "progress" && data?.type === "agent_progress" && typeof data.agentId === "string") {
      flags |= PROGRESS;
      // A subagent's messages echoed into the session while it works. Its own file (when there
      // is one) has the same responses; only their usage is taken, under the same ids, so each
      // response counts once whichever of the two is read.
      const echoed = data.message as J | undefined;
      const m = echoed?.message as J | undefined;
      const usage = m?.usage as J | undefined;
      if (echoed?.type === "assistant" && usage && typeof m?.id === "string" && m.model !== "<synthetic>") {
        const echo: Echo = { agentId: data.agentId, task: typeof o.parentToolUseID === "string" ? o.parentToolUseID : null, at: typeof echoed.timestamp === "string" ? timeOf(echoed.timestamp) : null };
        this.echoOf.set(i, echo);
        const id = m.id;
        const model = this.intern(String(m.model ?? "unknown"));
        this.whenTimed(() => this.respond(id, model, i, echo.at ?? this.timeAt(i)!, usage, undefined, echo));
      }
    } else if (type && SKIPPED_TYPES.has(type)) flags |= SKIPPED;
    else if (type === "summary") flags |= SUMMARY | EMITS;
    else if (type === "user") {
      flags |= USER;
      const content = msg.content;
      const results = Array.isArray(content) ? (content as Block[]).filter((b) => b?.type === "tool_result") : [];
      const prompt = results.length ? "" : textOf(content).trim();
      if (prompt && !o.isMeta && !o.isCompactSummary) {
        flags |= PROMPT;
        this.promptUuid.set(i, uuid);
      }
      if (results.length || flags & PROMPT) flags |= EMITS;
    } else if (type === "assistant") {
      flags |= ASSISTANT;
      const content = msg.content;
      const blocks = Array.isArray(content) ? (content as Block[]) : [];
      const calls: { id: string; prompt: string; type: string | null }[] = [];
      for (const b of blocks) {
        if ((b?.type === "tool_use" && b.id) || (b?.type === "text" && (b.text ?? "").trim()) || (b?.type === "thinking" && (b.thinking ?? "").trim())) flags |= EMITS;
        if (b?.type === "tool_use" && b.name === "Task" && b.id) {
          const t = (b.input as J)?.subagent_type;
          calls.push({ id: b.id, prompt: digestOf(String((b.input as J)?.prompt ?? "").trim()), type: typeof t === "string" && t !== "" ? t : null });
        }
      }
      if (calls.length) this.tasksOf.set(i, calls);
      // Claude Code writes some lines itself ("<synthetic>"): an API error it met is flagged as one
      // (or says so); others ("No response requested.") are notes, and none was a model call.
      const synthetic = msg.model === "<synthetic>";
      const apiError = o.isApiErrorMessage === true || Boolean(o.error) || (synthetic && /^API Error\b/.test(textOf(content).trim()));
      const usage = msg.usage as J | undefined;
      // A streamed response repeats its usage on each of its lines, growing: one model call each.
      if (usage && !apiError && !synthetic) {
        const named = msg.id ?? o.requestId;
        const model = this.intern(String(msg.model ?? "unknown"));
        const costUSD = o.costUSD;
        this.whenTimed(() => this.respond(String(named ?? uuid ?? timeText(this.timeAt(i)!)), model, i, this.timeAt(i)!, usage, costUSD, null));
      }
    } else flags |= OTHER;
    return flags;
  }

  /**
   * Between the readings: the session the file is, its time order, who did each line, and what
   * is given at the end of a time. What the adapter returns when there is nothing to read again.
   */
  settle(): AdapterSummary | null {
    const rows = this.rows;
    const lines = rows + this.bad.length;
    const sub = this.sub;
    this.subagentFile = sub?.sessionFile ?? null;
    // The file's own session: Claude Code names session files (and subagents' session folders)
    // by it. A resumed or forked session's file also carries lines of the session it came from,
    // under that session's id; those are history it replays, not another execution.
    const sessionId = UUID.test(this.ownNameOf) && this.namesOwn ? this.ownNameOf : this.lastNamed;
    if (!sessionId) {
      // A file of summaries alone names no session: nothing to attach them to.
      return { skipped: rows, bad: this.bad, lines, executionId: null };
    }
    this.sessionId = sessionId;
    this.project = sub ? sub.project : path.basename(path.dirname(this.file));
    this.spawn = sub ? (sidecarOf(this.file) ?? (this.agentIdOfFile ? (spawnsNow(this.ctx, this.subagentFile!).get(this.agentIdOfFile) ?? null) : null)) : null;
    this.spawnedBy = this.spawn?.call ?? null;
    // A subagent no Task call started (a compaction run, a workflow's agent) works a task of its own.
    this.taskOfFile = sub ? (this.spawnedBy ?? `${sessionId}/agent-${this.agentIdOfFile ?? path.basename(this.file, ".jsonl")}`) : null;
    if (this.firstT === undefined) return { skipped: rows, bad: this.bad, lines, executionId: sessionId };

    // Time order; lines without a time (summaries) keep their place after the one before.
    const unsorted = new Int32Array(rows);
    for (let i = 0; i < rows; i++) unsorted[i] = i;
    this.order = sortLines(unsorted, this.before);
    this.endT = this.timeAt(this.order[rows - 1]!)!;
    for (const i of this.order) {
      for (const c of this.tasksOf.get(i) ?? []) {
        this.taskPrompts.set(c.id, c.prompt);
        if (c.type) this.taskTypes.set(c.id, c.type);
      }
    }
    this.tasksOf.clear();
    this.mainAgent = { agent: `${sessionId}/main`, task: null };
    this.fileAgent = { agent: `${sessionId}/${this.agentIdOfFile ?? "subagent"}`, task: this.taskOfFile };
    const { byFirst, turnLast } = this.walk();
    this.planEnds(byFirst, turnLast);
    return null;
  }

  // 1.x subagents: sidechain conversations in this file, each from its root line.
  private sidechainRoot(s: SideLine): string {
    let cur = s;
    for (let guard = 0; guard < 100000; guard++) {
      const parent = this.byUuid.get(cur.parentUuid);
      if (!parent || !parent.side) return String(cur.uuid);
      cur = parent;
    }
    return String(cur.uuid);
  }
  private agentFor(i: number): AgentOf {
    if (this.subagentFile) return this.fileAgent;
    if (!(this.flagsOf.get(i) & SIDECHAIN)) return this.mainAgent;
    const root = this.sidechainRoot(this.sideOf.get(i)!);
    if (!this.sidechainTask.has(root)) {
      const prompt = this.byUuid.get(root)?.digest ?? digestOf("");
      const taken = [...this.sidechainTask.values()];
      const call = [...this.taskPrompts].find(([id, p]) => p === prompt && !taken.includes(id));
      this.sidechainTask.set(root, call?.[0] ?? `${this.sessionId}/sidechain-${root}`);
    }
    const task = this.sidechainTask.get(root)!;
    let a = this.sidechainAgent.get(task);
    if (!a) this.sidechainAgent.set(task, (a = { agent: `${this.sessionId}/sidechain-${task}`, task }));
    return a;
  }
  // The kind of agent each is: the main agent, a subagent of the type its Task call asked for (or
  // its sidecar says), a compaction run, a workflow's agent.
  private typeOf(agent: string, task: string | null): string {
    if (agent === this.mainAgent.agent) return "main";
    if (this.subagentFile) {
      if (this.spawn?.agentType) return this.spawn.agentType;
      if (this.agentIdOfFile?.startsWith("acompact")) return "compaction";
      if (this.sub?.workflow) return `workflow:${this.sub.workflow}`;
    }
    return (task ? this.taskTypes.get(task) : undefined) ?? "subagent";
  }
  private seen(agent: string, ts: Time, task: string | null): void {
    const a = this.agents.get(agent);
    if (!a) return void this.agents.set(agent, { first: ts, last: ts, task });
    if (cmpTime(ts, a.first) < 0) a.first = ts;
    if (cmpTime(ts, a.last) > 0) a.last = ts;
  }

  /** The lines in time order: each agent's first and last times, each turn's last, and who made each response. */
  private walk(): { byFirst: Response[]; turnLast: Map<string, Time> } {
    const sessionId = this.sessionId;
    // Responses in the order their first lines come in time: the order their calls are given in.
    const byFirst: Response[] = [...this.responses.values()].sort((a, b) => this.before(a.first, b.first));
    this.responses.clear();
    let nextResponse = 0;
    let turn: string | null = null;
    const turnLast = new Map<string, Time>();
    let emitting = 0;
    for (const i of this.order) {
      const flags = this.flagsOf.get(i);
      const kind = flags & KIND;
      const ts = this.timeAt(i)!;
      if (flags & EMITS) emitting++;
      if (kind === PROGRESS) {
        const echo = this.echoOf.get(i);
        if (echo) {
          const agent = this.intern(`${sessionId}/${echo.agentId}`);
          this.seen(agent, echo.at ?? ts, echo.task);
          const r = byFirst[nextResponse];
          if (r?.first === i) {
            r.agent = agent;
            r.task = echo.task;
            nextResponse++;
          }
        }
        this.skipped++;
        continue;
      }
      if (kind === SKIPPED || kind === OTHER) {
        this.skipped++;
        continue;
      }
      if (kind === SUMMARY) continue;
      const { agent, task: agentTask } = this.agentFor(i);
      this.seen(agent, ts, agentTask);
      const isMain = agent === this.mainAgent.agent;
      if (kind === USER) {
        if (flags & PROMPT && isMain) {
          turn = `turn-${String(this.promptUuid.get(i) ?? timeText(ts))}`;
          turnLast.set(turn, ts);
        }
        continue;
      }
      const task = isMain ? turn : agentTask;
      if (task && isMain) turnLast.set(task, ts);
      const r = byFirst[nextResponse];
      if (r?.first === i) {
        r.agent = agent;
        r.task = task;
        nextResponse++;
      }
    }
    this.echoOf.clear();
    this.promptUuid.clear();
    const emitOrder = new Int32Array(emitting);
    for (let i = 0, k = 0; i < this.rows; i++) if (this.flagsOf.get(this.order[i]!) & EMITS) emitOrder[k++] = this.order[i]!;
    this.emitOrder = emitOrder;
    return { byFirst, turnLast };
  }

  /**
   * What is given at the end of a time, in the order it is made; then sorted by time, each
   * after the lines of its time (the session's start before them). Kept as the little each
   * needs, made into an event only when it is given.
   */
  private planEnds(byFirst: Response[], turnLast: Map<string, Time>): void {
    const ends: End[] = byFirst;
    for (const [task, last] of turnLast) ends.push({ k: TURN_END, t: last, task });
    for (const [agent, a] of this.agents) {
      const type = this.typeOf(agent, a.task);
      ends.push({ k: WORKING, t: a.first, agent, type, task: a.task });
      ends.push({ k: DONE, t: a.last, agent, type, task: a.task });
    }
    if (!this.subagentFile) ends.push({ k: FINISH, t: this.endT });
    this.ownTask = this.subagentFile && !this.spawnedBy && this.taskOfFile ? this.taskOfFile : null;
    this.ownKind = this.agentIdOfFile?.startsWith("acompact") ? "compaction" : this.sub?.workflow ? `workflow ${this.sub.workflow}` : "subagent";
    // It runs from its earliest line (not its file's first: the rows of a file out of order are those of the file in order).
    if (this.ownTask) ends.push({ k: OWN_TASK, t: this.timeAt(this.order[0]!)! }, { k: OWN_TASK_END, t: this.endT });
    ends.sort((x, y) => cmpTime(x.t, y.t));
    if (!this.subagentFile) {
      // It started with its own first line: what it carries of an earlier session happened then.
      const own = [this.sessionFirst.get(this.sessionId), this.sessionFirst.get(undefined)].filter((i): i is number => i !== undefined).sort(this.before)[0];
      const t = own === undefined ? this.firstT! : this.timeAt(own)!;
      const at = ends.findIndex((e) => cmpTime(e.t, t) >= 0);
      ends.splice(at < 0 ? ends.length : at, 0, { k: START, t });
    }
    this.ends = ends;
  }

  private ev(kind: string, ts: string, fields: J): J {
    return { kind, execution_id: this.sessionId, timestamp: ts, ...fields };
  }
  private endEvent(e: End): J {
    const ts = this.text(e.t);
    switch (e.k) {
      case CALL: {
        const u = { model: e.model, input_tokens: e.input, output_tokens: e.output, cache_read_tokens: e.cacheRead, cache_write_tokens: e.write5m, cache_write_1h_tokens: e.write1h };
        const cost = e.cost ?? costOf(this.prices, u);
        return this.ev("llm:call", ts, {
          ...u, id: `${this.sessionId}/${e.id}`, response_id: e.id, provider: "anthropic", instance_id: e.agent, ...(e.task ? { task_id: e.task } : {}),
          ...(cost !== null ? { cost_usd: cost } : {}),
        });
      }
      case TURN_END:
        return this.ev("task:status", ts, { task_id: e.task, status: "completed" });
      case WORKING:
      case DONE:
        // The end one is named: read again as the session grows, the agent's end moves with it.
        return this.ev("agent:heartbeat", ts, {
          instance_id: e.agent, status: e.k === WORKING ? "working" : "completed", agent_type: e.type, ...(e.task ? { current_task_id: e.task } : {}),
          ...(e.k === DONE ? { heartbeat_id: `${e.agent}@end` } : {}),
        });
      case START:
        return this.ev("execution:status", ts, { status: "started", task_list_id: this.project, ...(this.cwd ? { cwd: this.cwd } : {}), ...(this.branch ? { git_branch: this.branch } : {}) });
      case FINISH:
        return this.ev("execution:status", ts, { status: "completed" });
      case OWN_TASK:
        return this.ev("task:status", ts, { task_id: this.ownTask, status: "running", title: `${this.ownKind} ${this.agentIdOfFile ?? ""}`.trim(), display_id: this.ownKind });
      case OWN_TASK_END:
        return this.ev("task:status", ts, { task_id: this.ownTask, status: "completed" });
    }
  }
  /** What is given before a line of time `t` (everything left, at the end). */
  endsBefore(t: Time | null, out: J[]): void {
    const ends = this.ends;
    while (this.nextEnd < ends.length) {
      const e = ends[this.nextEnd]!;
      if (t !== null) {
        const c = cmpTime(e.t, t);
        if (c > 0 || (c === 0 && e.k !== START)) return;
      }
      this.nextEnd++;
      out.push(this.endEvent(e));
    }
  }

  /**
   * The second reading of one line (in file order): its events, and those of the lines held
   * back for it, when its turn in time has come. False once every line that makes events is given.
   */
  take(text: string, n: number, out: J[]): boolean {
    const row = this.row;
    if (row >= this.rows) return false;
    if (n !== this.nOf.get(row)) {
      if (n > this.nOf.get(row)) throw changed(this.file, this.nOf.get(row));
      return true;
    }
    if (text.length !== this.lenOf.get(row)) throw changed(this.file, n);
    this.row++;
    if (!(this.flagsOf.get(row) & EMITS)) return true;
    const emitOrder = this.emitOrder;
    if (row !== emitOrder[this.next]) {
      this.held.set(row, text);
      return true;
    }
    this.lineEvents(row, text, out);
    this.next++;
    for (let h = this.held.get(emitOrder[this.next]!); h !== undefined; h = this.held.get(emitOrder[this.next]!)) {
      this.held.delete(emitOrder[this.next]!);
      this.lineEvents(emitOrder[this.next]!, h, out);
      this.next++;
    }
    return true;
  }
  /** What is left once the file is read again: every line that makes events should have come. */
  finish(out: J[]): AdapterSummary {
    if (this.next < this.emitOrder.length) throw changed(this.file, this.nOf.get(this.emitOrder[this.next]!));
    this.endsBefore(null, out);
    return { skipped: this.skipped, bad: this.bad, lines: this.rows + this.bad.length, executionId: this.sessionId };
  }

  /** One line's events where it stands in time (after what is given before its time). */
  lineEvents(i: number, text: string | J, out: J[]): void {
    const t = this.timeAt(i)!;
    this.endsBefore(t, out);
    const ts = this.text(t);
    let o: J;
    if (typeof text !== "string") o = text;
    else {
      try {
        o = parseJson(text) as J;
      } catch {
        throw changed(this.file, this.nOf.get(i));
      }
    }
    const kind = this.flagsOf.get(i) & KIND;
    if (kind === SUMMARY) {
      out.push(this.ev("transcript:entry", ts, { entry_id: `${this.sessionId}/summary/${String(o.leafUuid ?? ts)}`, entry_type: "checkpoint", category: "summary", summary: String(o.summary ?? "") }));
      return;
    }
    if (kind === USER) this.userEvents(i, o, ts, out);
    else this.assistantEvents(i, o, ts, out);
  }

  private userEvents(i: number, o: J, ts: string, out: J[]): void {
    const { agent, task: agentTask } = this.agentFor(i);
    const content = ((o.message ?? {}) as J).content;
    const uuid = String(o.uuid ?? `${ts}`);
    const isMain = agent === this.mainAgent.agent;
    const blocks = Array.isArray(content) ? (content as Block[]) : null;
    const results = blocks?.filter((b) => b?.type === "tool_result") ?? [];
    // A Task call's result names the agent that did it (2.x): its file, read before this
    // line was written, named that agent's task provisionally; this task replaces it.
    const done = o.toolUseResult as J | undefined;
    const spawned = typeof done?.agentId === "string" ? done.agentId : null;
    for (const b of results) {
      const text = textOf(b.content);
      out.push(this.ev("tool:end", ts, {
        tool_use_id: b.tool_use_id, is_error: Boolean(b.is_error), output: text, instance_id: agent,
        ...(b.is_error ? { error_message: text.slice(0, 2000) } : {}),
      }));
      if (b.tool_use_id && this.taskCalls.has(b.tool_use_id)) {
        const agentType = spawned && b === results[0] ? (typeof done!.agentType === "string" && done!.agentType !== "" ? done!.agentType : this.taskTypes.get(b.tool_use_id)) : undefined;
        out.push(this.ev("task:status", ts, {
          task_id: b.tool_use_id, status: b.is_error ? "failed" : "completed",
          ...(spawned && b === results[0] ? { replaces: `${this.sessionId}/agent-${spawned}`, ...(agentType ? { agent_type: agentType } : {}) } : {}),
        }));
      }
    }
    const prompt = results.length ? "" : textOf(content).trim();
    if (prompt && !o.isMeta && !o.isCompactSummary) {
      if (isMain) {
        this.turnNo++;
        this.turn = `turn-${uuid}`;
        out.push(this.ev("task:status", ts, { task_id: this.turn, status: "running", title: oneLine(prompt), display_id: `turn ${this.turnNo}`, instance_id: agent }));
      }
      const task = isMain ? this.turn : agentTask;
      out.push(this.ev("transcript:entry", ts, {
        entry_id: `${uuid}#prompt`, entry_type: "task_start", category: "user", summary: prompt, instance_id: agent,
        ...(task ? { task_id: task } : {}),
      }));
    }
  }

  /** An assistant line: its blocks (its response's usage is given with the response's call). */
  private assistantEvents(i: number, o: J, ts: string, out: J[]): void {
    const { agent, task: agentTask } = this.agentFor(i);
    const msg = (o.message ?? {}) as J;
    const content = msg.content;
    const uuid = String(o.uuid ?? `${ts}`);
    const isMain = agent === this.mainAgent.agent;
    const task = isMain ? this.turn : agentTask;
    const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
    const synthetic = msg.model === "<synthetic>";
    const apiError = o.isApiErrorMessage === true || Boolean(o.error) || (synthetic && /^API Error\b/.test(textOf(content).trim()));
    const blocks = Array.isArray(content) ? (content as Block[]) : [];
    for (let k = 0; k < blocks.length; k++) {
      const b = blocks[k];
      const entryId = `${uuid}#${k}`;
      if (b?.type === "tool_use" && b.id) {
        out.push(this.ev("tool:start", ts, {
          ...common, tool_use_id: b.id, tool: b.name ?? "unknown", input: b.input ?? {}, entry_id: entryId,
          ...(agentTask && !isMain ? { parent_tool_use_id: agentTask } : {}),
        }));
        if (b.name === "Task") {
          const description = String((b.input as J)?.description ?? (b.input as J)?.prompt ?? "subagent");
          this.taskCalls.add(b.id);
          out.push(this.ev("task:status", ts, { task_id: b.id, status: "running", title: oneLine(description), display_id: "subagent" }));
        }
      } else if (b?.type === "text" && (b.text ?? "").trim()) {
        out.push(this.ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: apiError ? "error" : "discovery", category: apiError ? "api_error" : synthetic ? "synthetic" : "assistant", summary: b.text!.trim() }));
      } else if (b?.type === "thinking" && (b.thinking ?? "").trim()) {
        out.push(this.ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: "discovery", category: "thinking", summary: b.thinking!.trim() }));
      }
    }
  }
}

/**
 * A Claude Code session's events (see SessionRead): the file read once for its facts, then
 * again for its events, or from the lines kept when it is small.
 */
function* claudeCodeRead(input: AdapterInput, ctx: AdapterContext): AdapterRead {
  const s = new SessionRead(input.path, ctx);
  for (const { text, n, invalid } of input.lines()) s.note(text, n, invalid);
  const early = s.settle();
  if (early) return early;
  const out: J[] = [];
  const kept = s.kept;
  if (kept) {
    for (; s.next < s.emitOrder.length; s.next++) {
      s.lineEvents(s.emitOrder[s.next]!, kept[s.emitOrder[s.next]!]!, out);
      yield* drain(out);
    }
  } else {
    for (const { text, n } of input.lines()) {
      if (!s.take(text, n, out)) break;
      yield* drain(out);
    }
  }
  const summary = s.finish(out);
  yield* drain(out);
  return summary;
}

/** The events made so far, given and forgotten. */
function* drain(out: J[]): Generator<J> {
  for (let k = 0; k < out.length; k++) yield out[k]!;
  out.length = 0;
}

export const claudeCode: Adapter = {
  format: "claude-code",
  describes: "Claude Code sessions (~/.claude/projects/<project>/<session>.jsonl)",
  detect: (head) => looksLikeClaudeCode(head.objects),
  read: (input, ctx) => claudeCodeRead(input, ctx),
};
