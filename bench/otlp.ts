/**
 * OTLP receipt to commit: this process sends Claude Code-shaped export requests to `obs serve`
 * (one tool result each, as its exporter sends them on a quiet session) and times each from
 * the request to its row being readable by another connection. The receiver commits before it
 * answers, so the answer's arrival bounds the commit; the row is then looked up to be sure.
 * Target: every request's rows committed within 50 ms (p99).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import type { Latency } from "./latency.js";

const SAMPLES = 300;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const attr = (key: string, v: string | number) => ({ key, value: typeof v === "number" ? { intValue: String(v) } : { stringValue: v } });

export async function benchOtlp(bin: string, dir: string): Promise<Latency> {
  const db = path.join(dir, `otlp-${process.pid}.db`);
  const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--otlp-port", "0", "--json", "--db", db], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const otlp = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve((JSON.parse(out.slice(0, out.indexOf("\n"))) as { otlp: { url: string } }).otlp.url);
      });
      child.on("exit", (code) => reject(new Error(`obs serve exited ${code}`)));
    });
    const reader = new Database(db, { readonly: true });
    const found = reader.prepare(`SELECT 1 FROM tool_uses WHERE id = ?`);
    const delays: number[] = [];
    let seen = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const id = `bench-toolu-${i}`;
      const body = JSON.stringify({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{
          timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), body: { stringValue: "claude_code.tool_result" },
          attributes: [attr("session.id", "bench-session"), attr("event.sequence", i + 1), attr("tool_name", "Bash"), attr("success", "true"), attr("duration_ms", "5"), attr("tool_use_id", id)],
        }] }] }],
      });
      const t0 = performance.now();
      const res = await fetch(`${otlp}/v1/logs`, { method: "POST", body, headers: { "content-type": "application/json" } });
      await res.arrayBuffer();
      const ms = performance.now() - t0;
      if (res.ok && found.get(id)) {
        seen++;
        delays.push(ms);
      }
    }
    reader.close();
    delays.sort((a, b) => a - b);
    const l: Latency = { samples: SAMPLES, seen, p50: delays.length ? percentile(delays, 50) : Infinity, p99: delays.length ? percentile(delays, 99) : Infinity };
    console.log(`OTLP request → committed row: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms (${seen}/${SAMPLES} committed by the answer)`);
    return l;
  } finally {
    child.kill("SIGINT");
  }
}
