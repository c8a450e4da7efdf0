import { spawn } from "node:child_process";
import { BIN } from "./helpers.js";

/** A running `obs serve` on free ports of 127.0.0.1: its WebSocket and OTLP URLs, its stderr, and a stop that returns its exit code. */
export interface Served {
  url: string;
  otlp: string;
  pid: number;
  stderr: () => string;
  stop: () => Promise<number | null>;
}

export async function startServe(db: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--otlp-port", "0", "--json", "--db", db, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const where = await new Promise<{ url: string; otlp: { url: string } | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`obs serve did not say where it listens within 10 s: ${stderr}`)), 10_000);
    child.stdout!.on("data", (d) => {
      stdout += d;
      const nl = stdout.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(stdout.slice(0, nl)));
      }
    });
    child.on("exit", (code) => reject(new Error(`obs serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    url: where.url,
    otlp: where.otlp?.url ?? "",
    pid: child.pid!,
    stderr: () => stderr,
    stop: () => {
      child.kill("SIGINT");
      return exited;
    },
  };
}

/** An OTLP/JSON attribute list from a plain object (strings, integers, doubles, booleans). */
export function attrs(o: Record<string, string | number | boolean>): { key: string; value: Record<string, unknown> }[] {
  return Object.entries(o).map(([key, v]) => ({
    key,
    value: typeof v === "string" ? { stringValue: v } : typeof v === "boolean" ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
  }));
}

export const nanos = (iso: string) => String(BigInt(Date.parse(iso)) * 1_000_000n);

/** An OTLP/JSON logs export request of Claude Code-shaped records (body: the event name, as Claude Code sends it). */
export function claudeLogs(records: { at: string; name: string; a: Record<string, string | number | boolean> }[]): Record<string, unknown> {
  return {
    resourceLogs: [{
      resource: { attributes: attrs({ "service.name": "claude-code", "service.version": "2.1.0" }) },
      scopeLogs: [{
        scope: { name: "com.anthropic.claude_code.events", version: "2.1.0" },
        logRecords: records.map((r) => ({
          timeUnixNano: nanos(r.at), observedTimeUnixNano: nanos(r.at), body: { stringValue: `claude_code.${r.name}` },
          attributes: attrs({ "event.name": r.name, "event.timestamp": r.at, ...r.a }),
        })),
      }],
    }],
  };
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: Buffer.from(await res.arrayBuffer()) };
}
