/**
 * One big Codex rollout for the memory bench and the streaming reader's test: the real rollouts
 * of the fixtures, their lines one after another after one session_meta (the 0.125 TUI
 * session's), repeated until the file reaches the size asked for. Each copy is a later stretch of
 * the same session: its times a year on per copy (so the file stays in time order), its turn,
 * call and item ids made its own, the session id kept. Its cumulative token counts start again
 * with each copy, as a count that starts from zero again does.
 */
import fs from "node:fs";
import path from "node:path";

const META_OF = "codemie-ai-codemie-code/rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl";
const FILES = [
  "Mai0313-VibeCodingTracker/test_conversation_oai.jsonl",
  "codemie-ai-codemie-code/rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl",
  META_OF,
  "codemie-ai-codemie-code/rollout-2026-05-11T13-28-45-019e1695-0522-7c83-8b39-0dd379793f80.jsonl",
];
const SESSION = "019e1625-789d-76c0-80ab-3724b5ddb799";
const UUID = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)([0-9a-f]{4})([0-9a-f]{8})\b/g;
const PRODUCER_ID = /\b((?:call|ws|rs|msg|fc|ctc)_[A-Za-z0-9]{8,})/g;
const ISO = /\b(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\b/g;
const YEAR = 366 * 24 * 3600_000;

/** Copy k of the lines' text: ids its own, times k years on, the session id as it is. */
function copy(text: string, k: number): string {
  if (k === 0) return text;
  const tag = k.toString(16).padStart(4, "0");
  return text
    .replace(UUID, (m, head: string, _mid: string, tail: string) => (m === SESSION ? m : `${head}${tag}${tail}`))
    .replace(PRODUCER_ID, `$1x${tag}`)
    .replace(ISO, (t: string) => new Date(Date.parse(t) + k * YEAR).toISOString());
}

/** The lines repeated: every fixture's lines but its session_meta. */
function body(fixtures: string): { meta: string; text: string; lines: number } {
  const meta = fs.readFileSync(path.join(fixtures, META_OF), "utf8").split("\n", 1)[0]!;
  const lines = FILES.flatMap((f) => fs.readFileSync(path.join(fixtures, f), "utf8").split("\n").filter((l) => l !== "" && !l.includes('"type":"session_meta"')));
  return { meta, text: lines.join("\n") + "\n", lines: lines.length };
}

/**
 * Writes <dir>/big-<copies>/rollout-…-<session>.jsonl of at least `bytes` bytes (skipped when it
 * is there already); returns its path, size and line count.
 */
export function codexRollout(fixtures: string, dir: string, bytes: number): { file: string; bytes: number; lines: number } {
  const { meta, text, lines } = body(fixtures);
  const copies = Math.max(1, Math.ceil(bytes / Buffer.byteLength(text)));
  const file = path.join(dir, `big-${copies}`, `rollout-2026-05-11T11-26-55-${SESSION}.jsonl`);
  const done = `${file}.complete`;
  if (!fs.existsSync(done)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, "w");
    try {
      fs.writeSync(fd, meta + "\n");
      for (let k = 0; k < copies; k++) fs.writeSync(fd, copy(text, k));
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(done, "");
  }
  return { file, bytes: fs.statSync(file).size, lines: 1 + copies * lines };
}
