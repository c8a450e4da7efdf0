/**
 * How raw payloads become columns: the tool category of a tool name, the ≤ 200-character
 * summaries, and the cap on stored payloads.
 */
import { cut } from "./text.js";

export const SUMMARY_MAX = 200;
/** Payloads (details, input, output, evidence, payload, metrics) are kept up to this many characters of JSON. */
export const PAYLOAD_MAX = 64 * 1024;

const CATEGORY: Record<string, string> = {
  Read: "file_read",
  Glob: "file_read",
  Grep: "file_read",
  Write: "file_write",
  Edit: "file_write",
  MultiEdit: "file_write",
  NotebookEdit: "file_write",
  Bash: "shell",
  WebFetch: "network",
  WebSearch: "network",
  Task: "agent",
};

export function toolCategory(tool: string): string {
  return CATEGORY[tool] ?? "custom";
}

/** One line, at most `max` characters, cut with an ellipsis. */
export function oneLine(text: string, max = SUMMARY_MAX): string {
  // A long text (a tool's whole output) is summed up by its start: when the start alone flattens
  // to more than `max` characters, the summary is the same as the whole text's, at a fraction of
  // the cost. Otherwise (the start is mostly white space) the whole text is flattened.
  if (text.length > 8 * max) {
    const start = text.slice(0, 8 * max).replace(/\s+/g, " ").trimStart();
    if (start.length > max) return cut(start, max - 1) + "…";
  }
  // Most summaries are already one short line; only those that are not pay for the regex.
  const flat = /\s\s|[\n\r\t]|^\s|\s$/.test(text) ? text.replace(/\s+/g, " ").trim() : text;
  return flat.length <= max ? flat : cut(flat, max - 1) + "…";
}

/** The keys of a tool's input that name it, in the order they are looked for. */
const INPUT_KEYS = ["command", "cmd", "file_path", "notebook_path", "pattern", "path", "dir_path", "url", "query", "description", "prompt"];

/**
 * The part of a tool's input a person recognises it by — the command, the file, the pattern —
 * before it is made one line (the producers make it one line their own way).
 */
export function inputPart(input: unknown): string {
  if (input === null || input === undefined) return "";
  if (typeof input === "string") return input;
  if (typeof input === "object" && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    // The pattern before the path: for Grep and Glob the path is only where they looked. `cmd`
    // is Codex's exec_command, `dir_path` Gemini CLI's list_directory.
    for (const key of INPUT_KEYS) {
      const v = key === "command" || key === "cmd" ? commandText(o[key]) : o[key];
      if (typeof v === "string" && v !== "") return key === "pattern" && typeof o.path === "string" ? `${v} in ${o.path}` : v;
    }
  }
  return JSON.stringify(input);
}

/**
 * A command as a person reads it. Given as its words (Codex's shell tool: `["bash", "-lc",
 * "ls -la"]`), a shell's `-c` script is the command; other words are joined by spaces.
 */
function commandText(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (!Array.isArray(v) || !v.length || !v.every((w) => typeof w === "string")) return null;
  const words = v as string[];
  const n = words.length;
  if (n >= 3 && /(^|\/)(ba|z|da|k)?sh$/.test(words[0]!) && /^-[a-z]*c$/.test(words[n - 2]!)) return words[n - 1]!;
  return words.join(" ");
}

/** A tool's input as its one-line summary. */
export function summariseInput(input: unknown): string {
  return oneLine(inputPart(input));
}

export function summariseOutput(output: unknown): string {
  if (output === null || output === undefined) return "";
  if (typeof output === "string") return oneLine(output);
  return oneLine(JSON.stringify(output));
}

/**
 * A payload as stored JSON text, capped at PAYLOAD_MAX characters. A cut payload stays valid
 * JSON: an object saying it was cut, how long it was, and its beginning.
 */
export function payloadJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  if (text.length <= PAYLOAD_MAX) return text;
  return JSON.stringify({ _obs_cut: true, original_chars: text.length, head: cut(text, PAYLOAD_MAX - 200) });
}

/** Appends a chunk to a stored output, cutting at the cap and saying so once. */
export function appendOutput(stored: string | null, chunk: string): string {
  let current = "";
  if (stored !== null) {
    try {
      const parsed = JSON.parse(stored);
      current = typeof parsed === "string" ? parsed : JSON.stringify(parsed);
    } catch {
      current = stored;
    }
  }
  const marker = "\n…[cut by obs: output over the stored limit]";
  if (current.endsWith(marker)) return stored as string;
  let next = current + chunk;
  if (next.length > PAYLOAD_MAX) next = cut(next, PAYLOAD_MAX - marker.length) + marker;
  return JSON.stringify(next);
}
