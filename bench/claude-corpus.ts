/**
 * A folder of Claude Code sessions for the many-files bench: every real session of the shared
 * fixtures copied `copies` times, each copy with ids of its own (session ids in contents and
 * names, message, request and tool ids), laid out as ~/.claude/projects is, so both obs and
 * ccusage read it as a machine's history.
 */
import fs from "node:fs";
import path from "node:path";

const UUID = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)([0-9a-f]{4})([0-9a-f]{8})\b/g;
const PRODUCER_ID = /\b((?:toolu|msg|req|srvtoolu)_[A-Za-z0-9]+)/g;

/** Copy k's version of a text: its UUIDs' last group and its producer ids made unique to it. */
function unique(text: string, k: number): string {
  const tag = k.toString(16).padStart(4, "0");
  return text.replace(UUID, (_m, head: string, _mid: string, tail: string) => `${head}${tag}${tail}`).replace(PRODUCER_ID, `$1x${tag}`);
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) out.push(...files(p));
    else if (ent.name.endsWith(".jsonl")) out.push(p);
  }
  return out;
}

/** Writes the corpus under `root`/projects (skipped when it is there already); returns its file count and size. */
export function claudeCorpus(fixtures: string, root: string, copies: number): { files: number; bytes: number } {
  const projects = path.join(root, "projects");
  const done = path.join(root, `.complete-${copies}`);
  const sources = files(fixtures);
  if (!fs.existsSync(done)) {
    fs.rmSync(root, { recursive: true, force: true });
    for (let k = 0; k < copies; k++) {
      for (const src of sources) {
        const rel = path.relative(fixtures, src);
        const [project, ...rest] = rel.split(path.sep);
        const dest = path.join(projects, `${project}-${k}`, unique(rest.join(path.sep), k));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, unique(fs.readFileSync(src, "utf8"), k));
      }
    }
    fs.writeFileSync(done, "");
  }
  const all = files(projects);
  return { files: all.length, bytes: all.reduce((n, f) => n + fs.statSync(f).size, 0) };
}
