/**
 * Big `claude -p` and `gemini -p` stream-json files for the memory bench (and the readers'
 * equivalence test): real claude stream-json fixtures (gemini's: the run its test writes, after
 * gemini-cli's JsonStreamEvent types) repeated until the file reaches the size asked for. Each
 * repetition is a later run of the same session: its times moved on by an hour per copy, its
 * message, tool, line and run ids made its own (nothing is a duplicate of another copy), the
 * session id of the first kept.
 */
import fs from "node:fs";
import path from "node:path";

const UUID = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)([0-9a-f]{4})([0-9a-f]{8})\b/g;
const PRODUCER_ID = /\b((?:toolu|msg|req|srvtoolu)_[A-Za-z0-9]+)/g;
const ISO = /\b(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\b/g;
const HOUR = 3600_000;

/** Copy k of a text: ids its own, times k hours on, the session id as it is. */
function copy(text: string, k: number, keep: string): string {
  const tag = k.toString(16).padStart(4, "0");
  return text
    .replace(UUID, (m, head: string, _mid: string, tail: string) => (m === keep ? m : `${head}${tag}${tail}`))
    .replace(PRODUCER_ID, `$1x${tag}`)
    .replace(ISO, (t: string) => new Date(Date.parse(t) + k * HOUR).toISOString());
}

/** The claude stream-json fixtures' lines, one session (the first file's) for all. */
function claudeSource(fixtures: string): { text: string; session: string } {
  const files = ["on-keyday-agent-harness/claude-stream-json.jsonl", "apple-techie-loop-orchestrator/claude-stream.jsonl", "HamzaAlayed-laravel-claude-agents/stream-json-subagent.jsonl", "HamzaAlayed-laravel-claude-agents/stream-json-sample.jsonl"];
  const texts = files.map((f) => fs.readFileSync(path.join(fixtures, f), "utf8"));
  const session = (JSON.parse(texts[0]!.split("\n")[0]!) as { session_id: string }).session_id;
  const text = texts
    .map((t) => {
      const own = /"session_id":"([^"]+)"/.exec(t)?.[1];
      const s = own ? t.split(own).join(session) : t;
      return s.endsWith("\n") ? s : `${s}\n`;
    })
    .join("");
  return { text, session };
}

/** A gemini -p stream-json run: a prompt before init, reply chunks, tool calls and results, a warning, the result. */
export function geminiRun(k: number): string {
  const t = (s: number) => new Date(Date.UTC(2026, 3, 2, 9, 0, 0) + k * HOUR + s * 1000).toISOString();
  const tag = k.toString(16).padStart(4, "0");
  const filler = "The directory holds sources, tests and a README; ".repeat(8);
  const lines = [
    { type: "message", timestamp: t(0), role: "user", content: `count the files (${tag})` },
    ...(k === 0 ? [{ type: "init", timestamp: t(1), session_id: "gs-big", model: "gemini-2.5-flash" }] : []),
    { type: "message", timestamp: t(2), role: "assistant", content: "Let me ", delta: true },
    { type: "message", timestamp: t(2), role: "assistant", content: `look. ${filler}`, delta: true },
    { type: "tool_use", timestamp: t(3), tool_name: "run_shell_command", tool_id: `sh-${tag}`, parameters: { command: "ls | wc -l" } },
    { type: "tool_result", timestamp: t(5), tool_id: `sh-${tag}`, status: "success", output: `12\n${filler}` },
    { type: "tool_use", timestamp: t(6), tool_name: "read_file", tool_id: `rf-${tag}`, parameters: { absolute_path: "/nope" } },
    { type: "tool_result", timestamp: t(7), tool_id: `rf-${tag}`, status: "error", error: { type: "FILE_NOT_FOUND", message: "File not found: /nope" } },
    { type: "error", timestamp: t(8), severity: "warning", message: "Loop detected, stopping execution" },
    { type: "message", timestamp: t(9), role: "assistant", content: "There are 12.", delta: true },
    // Every third run is cut short (no result): the next prompt ends its turn.
    ...(k % 3 === 2 ? [] : [{ type: "result", timestamp: t(10), status: k % 5 === 4 ? "error" : "success", ...(k % 5 === 4 ? { error: { type: "API", message: "quota" } } : {}), stats: { total_tokens: 3100 + k, input_tokens: 3000, output_tokens: 60, cached: 1000, input: 2000, duration_ms: 9000, tool_calls: 2 } }]),
  ];
  return lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
}

/** Writes `file` of at least `bytes` bytes from `copies(k)` (skipped when it is there already); its size and line count. */
function write(file: string, bytes: number, copyOf: (k: number) => string): { file: string; bytes: number; lines: number } {
  const done = `${file}.complete`;
  if (!fs.existsSync(done)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, "w");
    let size = 0;
    let lines = 0;
    try {
      for (let k = 0; size < bytes; k++) {
        const text = copyOf(k);
        fs.writeSync(fd, text);
        size += Buffer.byteLength(text);
        lines += text.split("\n").length - 1;
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(done, String(lines));
  }
  return { file, bytes: fs.statSync(file).size, lines: Number(fs.readFileSync(done, "utf8")) };
}

/** A claude -p stream-json file of at least `bytes` bytes: the fixtures of `fixtures` repeated. */
export function claudeStreamFile(fixtures: string, file: string, bytes: number): { file: string; bytes: number; lines: number } {
  const src = claudeSource(fixtures);
  return write(file, bytes, (k) => copy(src.text, k, src.session));
}

/** A gemini -p stream-json file of at least `bytes` bytes: runs of one session. */
export function geminiStreamFile(file: string, bytes: number): { file: string; bytes: number; lines: number } {
  return write(file, bytes, geminiRun);
}

interface Measured {
  status: number | null;
  stderr: string;
  maxRssKiB?: number;
  cpuSeconds: number;
}

/**
 * One claude -p and one gemini -p stream-json file of `mb` MB and of a fifth of it, each ingested
 * alone: they are read in bounded memory, so the bigger takes little more than the smaller.
 * `obs` runs obs and measures it (run.ts's), `target` notes a target met or missed.
 */
export function benchStreamJson(mb: number, out: string, fixtures: string, obs: (args: string[]) => Measured, target: (name: string, met: boolean, detail: string) => string, keep: boolean): void {
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
  for (const format of ["claude-stream-json", "gemini-stream-json"] as const) {
    console.log(`\n${format}: one file of ${mb / 5} MB and one of ${mb} MB, each ingested alone…`);
    const rss: number[] = [];
    for (const size of [mb / 5, mb]) {
      const file = path.join(out, "stream-json", `${format}-${size}.jsonl`);
      const s = format === "claude-stream-json" ? claudeStreamFile(fixtures, file, size * 1e6) : geminiStreamFile(file, size * 1e6);
      const db = path.join(out, "stream-json.db");
      for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
      const r = obs(["ingest", s.file, "--db", db, "--json"]);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
      if (!keep) fs.rmSync(path.dirname(s.file), { recursive: true, force: true });
      if (r.status !== 0) throw new Error(`obs ingest of the ${mib(s.bytes)} ${format} file failed: ${r.stderr.slice(0, 2000)}`);
      rss.push(r.maxRssKiB ?? 0);
      console.log(`  ${mib(s.bytes).padStart(8)} (${s.lines} lines): peak RSS ${mib((r.maxRssKiB ?? 0) * 1024)}, ${r.cpuSeconds.toFixed(1)} s CPU`);
    }
    const growth = rss[1]! / (rss[0]! || 1);
    console.log(`  peak RSS ${mb} MB / ${mb / 5} MB: ${growth.toFixed(2)}× (target ≤ 1.25×: ${target(`${format} memory flat from a fifth of its size`, growth <= 1.25, `${growth.toFixed(2)}×`)})`);
  }
}
