/**
 * One big Claude Code session for the memory bench: the largest real session of the fixtures
 * (Claude Code 2.1, its progress lines stepping back in time as the real ones do) repeated until
 * the file reaches the size asked for. Each repetition is a later stretch of the same session:
 * its times moved on by an hour per copy, its message, request, tool, subagent and line ids made its own
 * (so nothing is a duplicate of another copy), its session id kept.
 */
import fs from "node:fs";
import path from "node:path";

const SESSION = "fa812bfe-b295-4cca-9c2f-fdf01028cb46";
const UUID = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)([0-9a-f]{4})([0-9a-f]{8})\b/g;
const PRODUCER_ID = /\b((?:toolu|msg|req|srvtoolu)_[A-Za-z0-9]+)/g;
const ISO = /\b(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\b/g;
const AGENT_ID = /("agentId":"a[0-9a-z]+)"/g;
const HOUR = 3600_000;

/** Copy k of the session's text: ids its own, times k hours on, the session id as it is. */
function copy(text: string, k: number): string {
  const tag = k.toString(16).padStart(4, "0");
  return text
    .replace(UUID, (m, head: string, _mid: string, tail: string) => (m === SESSION ? m : `${head}${tag}${tail}`))
    .replace(PRODUCER_ID, `$1x${tag}`)
    .replace(AGENT_ID, `$1x${tag}"`)
    .replace(ISO, (t: string) => new Date(Date.parse(t) + k * HOUR).toISOString());
}

/**
 * Writes <dir>/<project>/<session>.jsonl of at least `bytes` bytes (skipped when a file of that
 * size is there already); returns its path, size and line count.
 */
export function claudeSession(fixtures: string, dir: string, bytes: number): { file: string; bytes: number; lines: number } {
  const src = fs.readFileSync(path.join(fixtures, "marot-spotter", `${SESSION}.jsonl`), "utf8");
  const perCopy = src.split("\n").filter((l) => l !== "").length;
  const copies = Math.max(1, Math.ceil(bytes / Buffer.byteLength(src)));
  const file = path.join(dir, `big-${copies}`, `${SESSION}.jsonl`);
  const done = `${file}.complete`;
  if (!fs.existsSync(done)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, "w");
    try {
      for (let k = 0; k < copies; k++) fs.writeSync(fd, copy(src, k));
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(done, "");
  }
  return { file, bytes: fs.statSync(file).size, lines: copies * perCopy };
}
