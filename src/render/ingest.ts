import type { IngestStats } from "../ingest/ingest.js";
import type { IO } from "../io.js";
import { fmtInt, fmtMs } from "./format.js";

/**
 * The one closing line of an ingest: sources, lines, events by kind, rejected, time, rate. A
 * follower's time is mostly spent waiting for lines, so its rate would say how idle the agents
 * were (0 lines/s after a quiet minute, which reads as a fault): it says how long it followed
 * instead.
 */
export function ingestSummaryLine(s: IngestStats, o: { followed?: boolean } = {}): string {
  const kinds = Object.entries(s.by_kind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${fmtInt(n)}`)
    .join(", ");
  const waiting = s.results.filter((r) => r.waiting).length;
  const skipped = s.results.filter((r) => r.note && !r.waiting).length;
  // A failed source is counted among those read, and said so: nothing of it was written.
  const said = [
    s.failed_sources.length ? `${s.failed_sources.length} failed` : "",
    skipped ? `${skipped} already up to date` : "",
    waiting ? `${waiting} not whole yet` : "",
  ].filter(Boolean);
  return (
    `${o.followed ? "followed" : "ingested"} ${s.sources} source${s.sources === 1 ? "" : "s"}` +
    (said.length ? ` (${said.join(", ")})` : "") +
    (o.followed ? ` for ${fmtMs(s.seconds * 1000)}` : "") +
    `: ${fmtInt(s.lines)} lines, ${fmtInt(s.events)} events` +
    (kinds ? ` (${kinds})` : "") +
    (s.skipped ? `, ${fmtInt(s.skipped)} skipped (nothing obs uses)` : "") +
    `, ${fmtInt(s.rejected)} rejected` +
    (o.followed ? "" : `, ${s.seconds.toFixed(2)} s, ${fmtInt(s.lines_per_second)} lines/s`)
  );
}

/** A progress bar on stderr, redrawn in place at most every 100 ms. */
export function progressBar(io: IO): { update: (done: number, total: number) => void; done: () => void } {
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const width = Math.max(10, Math.min(40, io.columns - 30));
      const ratio = total > 0 ? Math.min(1, done / total) : 0;
      const fill = Math.round(ratio * width);
      io.err(`\r[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${(done / 1048576).toFixed(0)} MiB`);
      drawn = true;
    },
    done() {
      if (drawn) io.err("\r\x1b[K");
    },
  };
}
