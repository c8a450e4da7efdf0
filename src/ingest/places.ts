import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Where agents keep their records on this machine, for `obs ingest` and `obs ingest --follow`
 * without a source: Claude Code's projects folder ($CLAUDE_CONFIG_DIR, else ~/.claude and the
 * XDG ~/.config/claude), Codex's sessions and archived sessions ($CODEX_HOME, else ~/.codex) and
 * Gemini CLI's ~/.gemini/tmp. Each place says which of its files are records, so a walk of it
 * passes over the settings, logs and checkpoints the tools keep beside them.
 */

export interface Place {
  /** What is kept there, in a user's words. */
  label: string;
  dir: string;
  accept: (file: string) => boolean;
}

export function defaultPlaces(env: NodeJS.ProcessEnv): Place[] {
  const home = env.HOME || env.USERPROFILE || os.homedir();
  const claudeRoots = env.CLAUDE_CONFIG_DIR
    ? env.CLAUDE_CONFIG_DIR.split(",").map((d) => d.trim()).filter(Boolean)
    : [path.join(home, ".claude"), path.join(home, ".config", "claude")];
  const codexHome = env.CODEX_HOME || path.join(home, ".codex");
  const jsonl = (f: string) => f.endsWith(".jsonl");
  return [
    ...claudeRoots.map((root) => ({ label: "Claude Code sessions", dir: path.join(root, "projects"), accept: jsonl })),
    { label: "Codex rollouts", dir: path.join(codexHome, "sessions"), accept: (f: string) => /rollout-[^/\\]*\.jsonl$/.test(f) },
    { label: "archived Codex rollouts", dir: path.join(codexHome, "archived_sessions"), accept: (f: string) => /rollout-[^/\\]*\.jsonl$/.test(f) },
    // Recordings live in <project>/chats/ (a subagent's one folder deeper); logs.json and checkpoints are beside them.
    { label: "Gemini CLI sessions", dir: path.join(home, ".gemini", "tmp"), accept: (f: string) => /[/\\]chats[/\\]/.test(f) && /\.jsonl?$/.test(f) },
  ];
}

/** The places that exist, and those that do not. */
export function findPlaces(env: NodeJS.ProcessEnv): { found: Place[]; missing: Place[] } {
  const found: Place[] = [];
  const missing: Place[] = [];
  for (const p of defaultPlaces(env)) {
    let isDir = false;
    try {
      isDir = fs.statSync(p.dir).isDirectory();
    } catch {
      /* not there */
    }
    (isDir ? found : missing).push(p);
  }
  return { found, missing };
}
