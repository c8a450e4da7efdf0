/** Bars drawn with block characters: progress, proportion and small charts. */

/** A bar of `width` cells filled to value/max. */
export function bar(value: number, max: number, width: number): string {
  if (width <= 0) return "";
  const ratio = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  const eighths = Math.round(ratio * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part ? "▏▎▍▌▋▊▉"[part - 1]! : "";
  return ("█".repeat(full) + partial).padEnd(width, " ");
}

/** A progress bar of parts (e.g. completed, failed, running) over a total, each with its own character. */
export function stackedBar(parts: { n: number; char: string; color?: (s: string) => string }[], total: number, width: number): string {
  let out = "";
  let used = 0;
  for (const p of parts) {
    const cells = total > 0 ? Math.round((p.n / total) * width) : 0;
    const take = Math.min(cells, width - used);
    if (take > 0) {
      const s = p.char.repeat(take);
      out += p.color ? p.color(s) : s;
      used += take;
    }
  }
  return out + "·".repeat(Math.max(0, width - used));
}
