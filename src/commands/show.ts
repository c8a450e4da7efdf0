import type { Command } from "commander";
import { EXIT_OK, UserError } from "../errors.js";
import { palette, type IO } from "../io.js";
import { resolveRecord } from "../queries/index.js";
import { L010, RECORD_QUERIES, RECORD_TABLES, type RecordKind } from "../queries/listing.js";
import { printJson } from "../render/output.js";
import { parsed, renderRecord, showCommand } from "../render/record.js";
import { withRead } from "./context.js";
import { withCommon, type App, type CommonOpts, Option } from "./common.js";

export interface ShowOpts extends CommonOpts {
  kind?: RecordKind;
}

const KINDS = Object.keys(RECORD_TABLES) as RecordKind[];
const NOUN: Record<RecordKind, string> = {
  tool_call: "Tool call", entry: "Entry", assertion: "Assertion", chain: "Assertion chain", skill: "Skill", model_call: "Model call",
  task: "Task", agent: "Agent", execution: "Execution", bus_event: "Bus event", wave: "Wave",
};
const words = (k: string) => k.replace("_", " ");

export async function runShow(given: string, opts: ShowOpts, io: IO): Promise<number> {
  return withRead(opts.db, io, {}, (ctx) => {
    const hits = resolveRecord(ctx.db, given);
    const chosen = opts.kind ? hits.filter((h) => h.kind === opts.kind) : hits;
    if (!chosen.length) {
      throw new UserError(`'${given}' is no ${words(opts.kind!)}`, hits.map((h) => `it is a ${words(h.kind)}: obs show ${h.id}${hits.length > 1 ? ` --kind ${h.kind}` : ""}`));
    }
    const hit = chosen[0]!;
    const row = ctx.run(RECORD_QUERIES[hit.kind], { id: hit.id }).rows[0];
    if (!row) throw new UserError(`no record has the id '${given}'`);
    const { _links: links, ...fields } = row;
    // The same producer id carried by other executions is stored as <id>@<execution>.
    const copies = ctx.run(L010, { prefix: `${hit.id}@` }).rows.filter((r) => r.kind === hit.kind);
    const also = [...hits.filter((h) => h !== hit), ...copies];
    if (opts.json) {
      const record = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, parsed(v)]));
      printJson(io, { kind: hit.kind, id: hit.id, table: RECORD_TABLES[hit.kind], record, links, also });
      return EXIT_OK;
    }
    const c = palette(io.color);
    const text = renderRecord({ kind: hit.kind, noun: NOUN[hit.kind], id: hit.id, record: fields, links, also }, Number.isFinite(io.columns) ? io.columns : 100, c);
    const others = hits.filter((h) => h !== hit);
    io.out(text + (others.length ? "\n" + c.dim(`(also a ${others.map((h) => words(h.kind)).join(", ")}: --kind ${others[0]!.kind})`) : "") + "\n");
    return EXIT_OK;
  });
}

export function registerShow(program: Command, app: App): void {
  withCommon(
    program
      .command("show")
      .summary("one record whole: a tool call's input and output, an entry, an assertion, a task, an agent, …")
      .description(
        "Show one record by the id obs prints for it — a tool call, entry, assertion, chain, skill, model call, task, agent, " +
          "execution, bus event or wave (an id another execution also has is <id>@<execution>) — with every field, its " +
          "payloads (input, output, details, evidence) pretty-printed and never cut, and what it links to. A unique prefix of an id will do.",
      )
      .argument("<id>", "the record's id, as obs prints it (obs search --json gives each hit's)")
      .addOption(new Option("--kind <kind>", "which record, when the id names several (a subagent's task has its Task call's id)").choices(KINDS)),
  )
    .addHelpText("after", `\nExamples:\n  obs show tu-103-13-012\n  obs show task-103-13\n  obs show tu-103-13-012 --json | jq -r '.record.output'\n  ${showCommand("correlation", "corr-task-103-13")}`)
    .action(async (id: string, o: ShowOpts) => {
      app.code = await runShow(id, o, app.io);
    });
}
