import { fromJson, OtlpBodyError, signalOf } from "../../otlp/decode.js";
import { mapRequest, SpanMemory } from "../../otlp/map.js";
import { jsonLine } from "./shared.js";
import type { Adapter, AdapterRead, BadLine, J } from "./types.js";

/**
 * OTLP JSON files: what the OpenTelemetry Collector's file exporter writes, one export request
 * (logs, traces or metrics) per line, and what `obs export --otlp` writes. Each request becomes
 * obs events through the same mapping as `obs serve`'s OTLP receiver (src/otlp/map.ts), so a
 * record ingested from a file and one received live are the same rows.
 */

const isRequest = (o: J) => signalOf(o) !== null;

export const otlpJson: Adapter = {
  format: "otlp-json",
  describes: "OpenTelemetry OTLP JSON (the Collector's file exporter: one export request per line)",
  detect: (head) => head.objects.length > 0 && isRequest(head.objects[0]!),
  *read(input, ctx): AdapterRead {
    const bad: BadLine[] = [];
    let lines = 0;
    let skipped = 0;
    let executionId: string | null = null;
    // One file is one stream of exports: a prompt stays open across lines, a span's parent may be on an earlier one.
    const memory = new SpanMemory();
    const open = new Map<string, { id: string; at: string }>();
    for (const { text, n, invalid } of input.lines()) {
      lines = n;
      const o = jsonLine(input.path, text, n, invalid, bad);
      if (!o) continue;
      const signal = signalOf(o);
      if (!signal) {
        bad.push({ source: input.path, line: n, reason: "not an OTLP export request (no resourceLogs, resourceSpans or resourceMetrics)" });
        continue;
      }
      let mapped;
      try {
        mapped = mapRequest(fromJson(signal, o, false), { prices: ctx.prices, memory, openPrompt: (exec) => open.get(exec) ?? null });
      } catch (e) {
        if (!(e instanceof OtlpBodyError)) throw e;
        bad.push({ source: input.path, line: n, reason: e.message });
        continue;
      }
      for (const e of mapped.events) {
        yield e;
        // The prompt a later line's records belong to is the last one started.
        if (e.kind === "task:status" && e.display_id === "prompt" && e.status === "running") open.set(String(e.execution_id), { id: String(e.task_id), at: String(e.timestamp) });
      }
      // A record obs cannot place is named, as a bad line is; one that carries nothing obs keeps is skipped.
      for (const [reason, k] of mapped.rejected) bad.push({ source: input.path, line: n, reason: `${k === 1 ? "a record" : `${k} records`}: ${reason}` });
      if (mapped.kept === 0 && !mapped.rejected.size) skipped++;
      executionId ??= mapped.executions.keys().next().value ?? null;
    }
    return { skipped, bad, lines, executionId };
  },
};
