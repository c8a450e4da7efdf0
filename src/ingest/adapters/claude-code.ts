import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { costOf } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { fileLines } from "../lines.js";
import { parseJson } from "../text.js";
import { jsonLine } from "./shared.js";
import type { Adapter, AdapterContext, AdapterInput, AdapterRead, BadLine, J } from "./types.js";

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

/**
 * A line's time as it sorts: a canonical ISO time (what Claude Code writes) as its epoch
 * milliseconds, whose order is its text's; any other text as it is. Times compare as text, as
 * they always have: the number only saves keeping a string per line.
 */
type Time = number | string;
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function timeOf(s: string): Time {
  if (CANONICAL.test(s)) {
    const ms = Date.parse(s);
    if (Number.isFinite(ms) && new Date(ms).toISOString() === s) return ms;
  }
  return s;
}
const timeText = (t: Time): string => (typeof t === "number" ? new Date(t).toISOString() : t);
function cmpTime(a: Time, b: Time): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = timeText(a);
  const y = timeText(b);
  return x < y ? -1 : x > y ? 1 : 0;
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

/** A number per line, kept in blocks: nothing copied as it grows, no room kept past the last block. */
class Column<A extends Int32Array | Float64Array | Uint8Array> {
  private readonly blocks: A[] = [];
  constructor(private readonly block: (n: number) => A) {}
  get(i: number): number {
    return this.blocks[i >>> 16]![i & 0xffff]!;
  }
  set(i: number, v: number): void {
    while (i >>> 16 >= this.blocks.length) this.blocks.push(this.block(0x10000));
    this.blocks[i >>> 16]![i & 0xffff] = v;
  }
}

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

/** A file that changed between its two readings: said as a read error, so that it fails alone and is read again next time. */
function changed(file: string, n: number): Error {
  return Object.assign(new Error(`it changed while obs read it: line ${n} is not what it was; ingest it again`), { code: "ECHANGED", syscall: "read", path: file });
}

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
 */
function* claudeCodeRead(input: AdapterInput, ctx: AdapterContext): AdapterRead {
  const file = input.path;
  const prices = ctx.prices;
  const bad: BadLine[] = [];

  // ---- first reading: a few facts per line ----
  let rows = 0;
  const nOf = new Column((k) => new Int32Array(k));
  const lenOf = new Column((k) => new Int32Array(k));
  const msOf = new Column((k) => new Float64Array(k)); // a canonical time's milliseconds; NaN for any other time, or none known yet
  const flagsOf = new Column((k) => new Uint8Array(k));
  const textTime = new Map<number, string>(); // the times that are no canonical ISO time
  const sideOf = new Map<number, SideLine>();
  const byUuid = new Map<unknown, SideLine>();
  const tasksOf = new Map<number, { id: string; prompt: string; type: string | null }[]>();
  const echoOf = new Map<number, Echo>();
  const promptUuid = new Map<number, unknown>();
  const responses = new Map<string, Response>();
  // Lines before the first with a time take that time: what depends on theirs waits for it.
  let firstT: Time | undefined;
  let lastT: Time | undefined;
  let pending: (() => void)[] = [];
  const ownNameOf = path.basename(subagentSession(file)?.sessionDir ?? file, ".jsonl");
  let namesOwn = false;
  let lastNamed: string | null = null;
  let agentIdOfFile: string | undefined;
  const sessionFirst = new Map<string | undefined, number>(); // each session id's first line in time order
  let cwdAt = -1;
  let cwd: string | undefined;
  let branchAt = -1;
  let branch: string | undefined;

  const timeAt = (i: number): Time | undefined => {
    const ms = msOf.get(i);
    return ms === ms ? ms : textTime.get(i);
  };
  const setTime = (i: number, t: Time) => {
    if (typeof t === "number") msOf.set(i, t);
    else {
      msOf.set(i, NaN);
      textTime.set(i, t);
    }
  };
  /** Time order of two lines, ties in file order; lines waiting for the first time are all at it. */
  const before = (a: number, b: number): number => {
    const x = timeAt(a);
    const y = timeAt(b);
    return (x === undefined || y === undefined ? 0 : cmpTime(x, y)) || a - b;
  };
  const respond = (id: string, model: string, row: number, at: Time, usage: J, costUSD: unknown, echo: Echo | null) => {
    const u = usageOf(usage);
    let r = responses.get(id);
    if (!r) {
      r = { k: CALL, id, first: row, model, echo, agent: "", task: null, input: 0, output: 0, cacheRead: 0, write5m: 0, write1h: 0, cost: null, t: at };
      responses.set(id, r);
    } else if (before(row, r.first) < 0) {
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
  };
  // The same few texts (a model's name, an agent's) on many responses are kept once.
  const texts = new Map<string, string>();
  const intern = (s: string): string => {
    const had = texts.get(s);
    if (had !== undefined) return had;
    texts.set(s, s);
    return s;
  };
  const whenTimed = (f: () => void) => (firstT === undefined ? pending.push(f) : f());

  // A small session's lines, as the first reading parsed them, are kept for the second, which
  // then does not read the file again: most sessions are small, and parsing is most of the cost.
  let kept: J[] | null = [];
  let keptChars = 0;
  for (const { text, n, invalid } of input.lines()) {
    const o = jsonLine(file, text, n, invalid, bad);
    if (!o) continue;
    const i = rows++;
    if (kept) {
      keptChars += text.length;
      if (keptChars <= KEEP_CHARS) kept.push(o);
      else kept = null;
    }
    nOf.set(i, n);
    lenOf.set(i, text.length);
    msOf.set(i, NaN);
    // Its time: its own; a line without one, the one before's; an empty one, the first line's.
    const ts = o.timestamp;
    if (typeof ts === "string" && ts !== "") {
      const t = timeOf(ts);
      if (firstT === undefined) {
        firstT = t;
        for (let j = 0; j < i; j++) setTime(j, t);
      }
      lastT = t;
      setTime(i, t);
      const waiting = pending;
      pending = [];
      for (const f of waiting) f();
    } else if (typeof ts === "string") {
      if (firstT !== undefined) setTime(i, firstT);
    } else if (lastT !== undefined) setTime(i, lastT);

    if (typeof o.sessionId === "string") {
      if (o.sessionId === ownNameOf) namesOwn = true;
      lastNamed = o.sessionId;
    }
    if (o.sessionId === undefined || typeof o.sessionId === "string") {
      const s = o.sessionId as string | undefined;
      const at = sessionFirst.get(s);
      if (at === undefined || before(i, at) < 0) sessionFirst.set(s, i);
    }
    if (agentIdOfFile === undefined && typeof o.agentId === "string") agentIdOfFile = o.agentId;
    if (typeof o.cwd === "string" && (cwdAt < 0 || before(i, cwdAt) < 0)) {
      cwdAt = i;
      cwd = o.cwd;
    }
    if (typeof o.gitBranch === "string" && o.gitBranch !== "" && (branchAt < 0 || before(i, branchAt) < 0)) {
      branchAt = i;
      branch = o.gitBranch;
    }

    const type = o.type as string | undefined;
    const msg = (o.message ?? {}) as J;
    let flags = o.isSidechain ? SIDECHAIN : 0;
    // What a sidechain's walk to its root needs; a later line with the same uuid hides an earlier one.
    const uuid = o.uuid;
    if (o.isSidechain) {
      const s: SideLine = { uuid, parentUuid: o.parentUuid, side: true, digest: digestOf(textOf(msg.content).trim()) };
      sideOf.set(i, s);
      if (uuid === null || typeof uuid !== "object") byUuid.set(uuid, s);
    } else if ((uuid === null || typeof uuid !== "object") && byUuid.has(uuid)) {
      const content = type && SKIPPED_TYPES.has(type) ? undefined : msg.content;
      byUuid.set(uuid, { uuid, parentUuid: o.parentUuid, side: false, digest: digestOf(textOf(content).trim()) });
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
        echoOf.set(i, echo);
        const id = m.id;
        const model = intern(String(m.model ?? "unknown"));
        whenTimed(() => respond(id, model, i, echo.at ?? timeAt(i)!, usage, undefined, echo));
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
        promptUuid.set(i, uuid);
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
      if (calls.length) tasksOf.set(i, calls);
      // Claude Code writes some lines itself ("<synthetic>"): an API error it met is flagged as one
      // (or says so); others ("No response requested.") are notes, and none was a model call.
      const synthetic = msg.model === "<synthetic>";
      const apiError = o.isApiErrorMessage === true || Boolean(o.error) || (synthetic && /^API Error\b/.test(textOf(content).trim()));
      const usage = msg.usage as J | undefined;
      // A streamed response repeats its usage on each of its lines, growing: one model call each.
      if (usage && !apiError && !synthetic) {
        const named = msg.id ?? o.requestId;
        const model = intern(String(msg.model ?? "unknown"));
        const costUSD = o.costUSD;
        whenTimed(() => respond(String(named ?? uuid ?? timeText(timeAt(i)!)), model, i, timeAt(i)!, usage, costUSD, null));
      }
    } else flags |= OTHER;
    flagsOf.set(i, flags);
  }

  let skipped = 0;
  const lines = rows + bad.length;
  const sub = subagentSession(file);
  const subagentFile = sub?.sessionFile ?? null;
  // The file's own session: Claude Code names session files (and subagents' session folders)
  // by it. A resumed or forked session's file also carries lines of the session it came from,
  // under that session's id; those are history it replays, not another execution.
  const sessionId = UUID.test(ownNameOf) && namesOwn ? ownNameOf : lastNamed;
  if (!sessionId) {
    // A file of summaries alone names no session: nothing to attach them to.
    return { skipped: rows, bad, lines, executionId: null };
  }
  const project = sub ? sub.project : path.basename(path.dirname(file));
  const spawn = sub ? (sidecarOf(file) ?? (agentIdOfFile ? (spawnsNow(ctx, subagentFile!).get(agentIdOfFile) ?? null) : null)) : null;
  const spawnedBy = spawn?.call ?? null;
  // A subagent no Task call started (a compaction run, a workflow's agent) works a task of its own.
  const taskOfFile = sub ? (spawnedBy ?? `${sessionId}/agent-${agentIdOfFile ?? path.basename(file, ".jsonl")}`) : null;
  if (firstT === undefined) return { skipped: rows, bad, lines, executionId: sessionId };

  // Time order; lines without a time (summaries) keep their place after the one before.
  const unsorted = new Int32Array(rows);
  for (let i = 0; i < rows; i++) unsorted[i] = i;
  const order = sortLines(unsorted, before);
  const endT = timeAt(order[rows - 1]!)!;

  // ---- what the facts say, in time order ----
  // 1.x subagents: sidechain conversations in this file, each from its root line.
  const sidechainRoot = (s: SideLine): string => {
    let cur = s;
    for (let guard = 0; guard < 100000; guard++) {
      const parent = byUuid.get(cur.parentUuid);
      if (!parent || !parent.side) return String(cur.uuid);
      cur = parent;
    }
    return String(cur.uuid);
  };
  const taskPrompts = new Map<string, string>(); // Task call id → its prompt's digest, to find the sidechain it started
  const taskTypes = new Map<string, string>(); // Task call id → the subagent_type it asked for
  for (const i of order) {
    for (const c of tasksOf.get(i) ?? []) {
      taskPrompts.set(c.id, c.prompt);
      if (c.type) taskTypes.set(c.id, c.type);
    }
  }
  tasksOf.clear();
  const noText = digestOf("");
  const sidechainTask = new Map<string, string>();
  const mainAgent = { agent: `${sessionId}/main`, task: null };
  const fileAgent = { agent: `${sessionId}/${agentIdOfFile ?? "subagent"}`, task: taskOfFile };
  const sidechainAgent = new Map<string, { agent: string; task: string }>();
  const agentFor = (i: number): { agent: string; task: string | null } => {
    if (subagentFile) return fileAgent;
    if (!(flagsOf.get(i) & SIDECHAIN)) return mainAgent;
    const root = sidechainRoot(sideOf.get(i)!);
    if (!sidechainTask.has(root)) {
      const prompt = byUuid.get(root)?.digest ?? noText;
      const call = [...taskPrompts].find(([id, p]) => p === prompt && ![...sidechainTask.values()].includes(id));
      sidechainTask.set(root, call?.[0] ?? `${sessionId}/sidechain-${root}`);
    }
    const task = sidechainTask.get(root)!;
    let a = sidechainAgent.get(task);
    if (!a) sidechainAgent.set(task, (a = { agent: `${sessionId}/sidechain-${task}`, task }));
    return a;
  };

  // The kind of agent each is: the main agent, a subagent of the type its Task call asked for (or
  // its sidecar says), a compaction run, a workflow's agent.
  const typeOf = (agent: string, task: string | null): string => {
    if (agent === `${sessionId}/main`) return "main";
    if (subagentFile) {
      if (spawn?.agentType) return spawn.agentType;
      if (agentIdOfFile?.startsWith("acompact")) return "compaction";
      if (sub?.workflow) return `workflow:${sub.workflow}`;
    }
    return (task ? taskTypes.get(task) : undefined) ?? "subagent";
  };
  const agents = new Map<string, { first: Time; last: Time; task: string | null }>();
  const seen = (agent: string, ts: Time, task: string | null) => {
    const a = agents.get(agent);
    if (!a) return void agents.set(agent, { first: ts, last: ts, task });
    if (cmpTime(ts, a.first) < 0) a.first = ts;
    if (cmpTime(ts, a.last) > 0) a.last = ts;
  };
  // Responses in the order their first lines come in time: the order their calls are given in.
  const byFirst: Response[] = [...responses.values()].sort((a, b) => before(a.first, b.first));
  responses.clear();
  let nextResponse = 0;
  let turn: string | null = null;
  const turnLast = new Map<string, Time>();
  let emitting = 0;
  for (const i of order) {
    const flags = flagsOf.get(i);
    const kind = flags & KIND;
    const ts = timeAt(i)!;
    if (flags & EMITS) emitting++;
    if (kind === PROGRESS) {
      const echo = echoOf.get(i);
      if (echo) {
        const agent = intern(`${sessionId}/${echo.agentId}`);
        seen(agent, echo.at ?? ts, echo.task);
        const r = byFirst[nextResponse];
        if (r?.first === i) {
          r.agent = agent;
          r.task = echo.task;
          nextResponse++;
        }
      }
      skipped++;
      continue;
    }
    if (kind === SKIPPED || kind === OTHER) {
      skipped++;
      continue;
    }
    if (kind === SUMMARY) continue;
    const { agent, task: agentTask } = agentFor(i);
    seen(agent, ts, agentTask);
    const isMain = agent === `${sessionId}/main`;
    if (kind === USER) {
      if (flags & PROMPT && isMain) {
        turn = `turn-${String(promptUuid.get(i) ?? timeText(ts))}`;
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
  echoOf.clear();
  promptUuid.clear();

  // What is given at the end of a time, in the order it is made; then sorted by time, each
  // after the lines of its time (the session's start before them). Kept as the little each
  // needs, made into an event only when it is given.
  const ev = (kind: string, ts: string, fields: J): J => ({ kind, execution_id: sessionId, timestamp: ts, ...fields });
  type End = Response | { k: typeof TURN_END; t: Time; task: string } | { k: typeof WORKING | typeof DONE; t: Time; agent: string; type: string; task: string | null } | { k: typeof START | typeof FINISH | typeof OWN_TASK | typeof OWN_TASK_END; t: Time };
  const ends: End[] = byFirst;
  for (const [task, last] of turnLast) ends.push({ k: TURN_END, t: last, task });
  for (const [agent, a] of agents) {
    const type = typeOf(agent, a.task);
    ends.push({ k: WORKING, t: a.first, agent, type, task: a.task });
    ends.push({ k: DONE, t: a.last, agent, type, task: a.task });
  }
  if (!subagentFile) ends.push({ k: FINISH, t: endT });
  const ownTask = subagentFile && !spawnedBy && taskOfFile ? taskOfFile : null;
  const ownKind = agentIdOfFile?.startsWith("acompact") ? "compaction" : sub?.workflow ? `workflow ${sub.workflow}` : "subagent";
  // It runs from its earliest line (not its file's first: the rows of a file out of order are those of the file in order).
  if (ownTask) ends.push({ k: OWN_TASK, t: timeAt(order[0]!)! }, { k: OWN_TASK_END, t: endT });
  ends.sort((x, y) => cmpTime(x.t, y.t));
  if (!subagentFile) {
    // It started with its own first line: what it carries of an earlier session happened then.
    const own = [sessionFirst.get(sessionId), sessionFirst.get(undefined)].filter((i): i is number => i !== undefined).sort(before)[0];
    const t = own === undefined ? firstT : timeAt(own)!;
    const at = ends.findIndex((e) => cmpTime(e.t, t) >= 0);
    ends.splice(at < 0 ? ends.length : at, 0, { k: START, t });
  }
  const endEvent = (e: End): J => {
    const ts = timeText(e.t);
    switch (e.k) {
      case CALL: {
        const u = { model: e.model, input_tokens: e.input, output_tokens: e.output, cache_read_tokens: e.cacheRead, cache_write_tokens: e.write5m, cache_write_1h_tokens: e.write1h };
        const cost = e.cost ?? costOf(prices, u);
        return ev("llm:call", ts, {
          ...u, id: `${sessionId}/${e.id}`, response_id: e.id, provider: "anthropic", instance_id: e.agent, ...(e.task ? { task_id: e.task } : {}),
          ...(cost !== null ? { cost_usd: cost } : {}),
        });
      }
      case TURN_END:
        return ev("task:status", ts, { task_id: e.task, status: "completed" });
      case WORKING:
      case DONE:
        return ev("agent:heartbeat", ts, { instance_id: e.agent, status: e.k === WORKING ? "working" : "completed", agent_type: e.type, ...(e.task ? { current_task_id: e.task } : {}) });
      case START:
        return ev("execution:status", ts, { status: "started", task_list_id: project, ...(cwd ? { cwd } : {}), ...(branch ? { git_branch: branch } : {}) });
      case FINISH:
        return ev("execution:status", ts, { status: "completed" });
      case OWN_TASK:
        return ev("task:status", ts, { task_id: ownTask, status: "running", title: `${ownKind} ${agentIdOfFile ?? ""}`.trim(), display_id: ownKind });
      case OWN_TASK_END:
        return ev("task:status", ts, { task_id: ownTask, status: "completed" });
    }
  };
  let nextEnd = 0;
  /** What is given before a line of time `t` (everything left, at the end). */
  function* endsBefore(t: Time | null): Generator<J> {
    while (nextEnd < ends.length) {
      const e = ends[nextEnd]!;
      if (t !== null) {
        const c = cmpTime(e.t, t);
        if (c > 0 || (c === 0 && e.k !== START)) return;
      }
      nextEnd++;
      yield endEvent(e);
    }
  }

  // ---- second reading: each line's events where it stands in time ----
  const emitOrder = new Int32Array(emitting);
  for (let i = 0, k = 0; i < rows; i++) if (flagsOf.get(order[i]!) & EMITS) emitOrder[k++] = order[i]!;
  let turnNo = 0;
  turn = null;
  const taskCalls = new Set<string>();
  function* lineEvents(i: number, text: string | J): Generator<J> {
    const t = timeAt(i)!;
    yield* endsBefore(t);
    const ts = timeText(t);
    let o: J;
    if (typeof text !== "string") o = text;
    else {
      try {
        o = parseJson(text) as J;
      } catch {
        throw changed(file, nOf.get(i));
      }
    }
    const kind = flagsOf.get(i) & KIND;
    if (kind === SUMMARY) {
      yield ev("transcript:entry", ts, { entry_id: `${sessionId}/summary/${String(o.leafUuid ?? ts)}`, entry_type: "checkpoint", category: "summary", summary: String(o.summary ?? "") });
      return;
    }
    const { agent, task: agentTask } = agentFor(i);
    const msg = (o.message ?? {}) as J;
    const content = msg.content;
    const uuid = String(o.uuid ?? `${ts}`);
    const isMain = agent === `${sessionId}/main`;

    if (kind === USER) {
      const blocks = Array.isArray(content) ? (content as Block[]) : null;
      const results = blocks?.filter((b) => b?.type === "tool_result") ?? [];
      // A Task call's result names the agent that did it (2.x): its file, read before this
      // line was written, named that agent's task provisionally; this task replaces it.
      const done = o.toolUseResult as J | undefined;
      const spawned = typeof done?.agentId === "string" ? done.agentId : null;
      for (const b of results) {
        const out = textOf(b.content);
        yield ev("tool:end", ts, {
          tool_use_id: b.tool_use_id, is_error: Boolean(b.is_error), output: out, instance_id: agent,
          ...(b.is_error ? { error_message: out.slice(0, 2000) } : {}),
        });
        if (b.tool_use_id && taskCalls.has(b.tool_use_id)) {
          const agentType = spawned && b === results[0] ? (typeof done!.agentType === "string" && done!.agentType !== "" ? done!.agentType : taskTypes.get(b.tool_use_id)) : undefined;
          yield ev("task:status", ts, {
            task_id: b.tool_use_id, status: b.is_error ? "failed" : "completed",
            ...(spawned && b === results[0] ? { replaces: `${sessionId}/agent-${spawned}`, ...(agentType ? { agent_type: agentType } : {}) } : {}),
          });
        }
      }
      const prompt = results.length ? "" : textOf(content).trim();
      if (prompt && !o.isMeta && !o.isCompactSummary) {
        if (isMain) {
          turnNo++;
          turn = `turn-${uuid}`;
          yield ev("task:status", ts, { task_id: turn, status: "running", title: oneLine(prompt), display_id: `turn ${turnNo}`, instance_id: agent });
        }
        yield ev("transcript:entry", ts, {
          entry_id: `${uuid}#prompt`, entry_type: "task_start", category: "user", summary: prompt, instance_id: agent,
          ...((isMain ? turn : agentTask) ? { task_id: isMain ? turn : agentTask } : {}),
        });
      }
      return;
    }

    // An assistant line: its blocks (its response's usage is given with the response's call).
    const task = isMain ? turn : agentTask;
    const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
    const synthetic = msg.model === "<synthetic>";
    const apiError = o.isApiErrorMessage === true || Boolean(o.error) || (synthetic && /^API Error\b/.test(textOf(content).trim()));
    const blocks = Array.isArray(content) ? (content as Block[]) : [];
    for (let k = 0; k < blocks.length; k++) {
      const b = blocks[k];
      const entryId = `${uuid}#${k}`;
      if (b?.type === "tool_use" && b.id) {
        yield ev("tool:start", ts, {
          ...common, tool_use_id: b.id, tool: b.name ?? "unknown", input: b.input ?? {}, entry_id: entryId,
          ...(agentTask && !isMain ? { parent_tool_use_id: agentTask } : {}),
        });
        if (b.name === "Task") {
          const description = String((b.input as J)?.description ?? (b.input as J)?.prompt ?? "subagent");
          taskCalls.add(b.id);
          yield ev("task:status", ts, { task_id: b.id, status: "running", title: oneLine(description), display_id: "subagent" });
        }
      } else if (b?.type === "text" && (b.text ?? "").trim()) {
        yield ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: apiError ? "error" : "discovery", category: apiError ? "api_error" : synthetic ? "synthetic" : "assistant", summary: b.text!.trim() });
      } else if (b?.type === "thinking" && (b.thinking ?? "").trim()) {
        yield ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: "discovery", category: "thinking", summary: b.thinking!.trim() });
      }
    }
  }

  // Lines that come later in the file than in time wait here for their turn (Claude Code's files
  // are nearly in time order: a few); the others are passed over, and what makes no event unread.
  const held = new Map<number, string>();
  let row = 0;
  let next = 0;
  if (kept) {
    for (; next < emitOrder.length; next++) yield* lineEvents(emitOrder[next]!, kept[emitOrder[next]!]!);
    row = rows;
  }
  for (const { text, n } of kept ? [] : input.lines()) {
    if (row >= rows) break;
    if (n !== nOf.get(row)) {
      if (n > nOf.get(row)) throw changed(file, nOf.get(row));
      continue;
    }
    if (text.length !== lenOf.get(row)) throw changed(file, n);
    const i = row++;
    if (!(flagsOf.get(i) & EMITS)) continue;
    if (i !== emitOrder[next]) {
      held.set(i, text);
      continue;
    }
    yield* lineEvents(i, text);
    next++;
    for (let h = held.get(emitOrder[next]!); h !== undefined; h = held.get(emitOrder[next]!)) {
      held.delete(emitOrder[next]!);
      yield* lineEvents(emitOrder[next]!, h);
      next++;
    }
  }
  if (next < emitOrder.length) throw changed(file, nOf.get(emitOrder[next]!));
  yield* endsBefore(null);
  return { skipped, bad, lines, executionId: sessionId };
}

export const claudeCode: Adapter = {
  format: "claude-code",
  describes: "Claude Code sessions (~/.claude/projects/<project>/<session>.jsonl)",
  detect: (head) => looksLikeClaudeCode(head.objects),
  read: (input, ctx) => claudeCodeRead(input, ctx),
};
