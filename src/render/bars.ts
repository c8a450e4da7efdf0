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

/**
 * A progress bar of parts (e.g. completed, failed, running) over a total, each with its own
 * character, the rest `·`. The cells are shared out whole (largest remainder), so the parts
 * together fill what they fill together; a part of any size keeps a cell, so one failure among
 * many is never rounded away, and a total not yet reached never looks reached.
 */
export function stackedBar(parts: { n: number; char: string; color?: (s: string) => string }[], total: number, width: number): string {
  const sum = parts.reduce((t, p) => t + Math.max(0, p.n), 0);
  const present = parts.filter((p) => p.n > 0).length;
  let filled = total > 0 ? Math.round((Math.min(sum, total) / total) * width) : 0;
  if (sum < total) filled = Math.min(filled, width - 1);
  filled = Math.min(width, Math.max(filled, Math.min(present, width)));
  const ideal = parts.map((p) => (total > 0 && p.n > 0 ? (p.n / total) * width : 0));
  const cells = ideal.map((x, i) => (parts[i]!.n > 0 ? Math.max(1, Math.floor(x)) : 0));
  const order = (by: (i: number) => number) => parts.map((_, i) => i).sort((x, y) => by(y) - by(x) || x - y);
  // Too few: to the largest remainders. Too many (the cells kept for small parts): from the largest parts.
  for (let left = filled - cells.reduce((a, b) => a + b, 0); left > 0 && present > 0; left--) {
    const i = order((j) => (parts[j]!.n > 0 ? ideal[j]! - cells[j]! : -Infinity))[0]!;
    cells[i]!++;
  }
  for (let over = cells.reduce((a, b) => a + b, 0) - filled; over > 0; over--) {
    const i = order((j) => (cells[j]! > 1 ? cells[j]! : -Infinity))[0]!;
    if (cells[i]! <= 1) break;
    cells[i]!--;
  }
  let out = "";
  let used = 0;
  parts.forEach((p, i) => {
    const take = Math.min(cells[i]!, width - used);
    if (take <= 0) return;
    const s = p.char.repeat(take);
    out += p.color ? p.color(s) : s;
    used += take;
  });
  return out + "·".repeat(Math.max(0, width - used));
}
