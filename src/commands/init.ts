import type { Command } from "commander";
import { initDatabase } from "../db/init.js";
import { resolveDbPath } from "../db/open.js";
import { EXIT_OK } from "../errors.js";
import type { IO } from "../io.js";
import { printJson } from "../render/output.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

export async function runInit(opts: CommonOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  const r = initDatabase(dbPath);
  if (opts.json) {
    printJson(io, r);
    return EXIT_OK;
  }
  const o = r.objects;
  const schema = `schema version ${r.schema_version}: ${o.tables} tables, ${o.indexes} indexes, ${o.views} views, ${o.triggers} triggers`;
  if (r.action === "created") io.out(`created ${dbPath}: an empty obs database (${schema})\n`);
  else if (r.action === "migrated") io.out(`migrated ${dbPath} from schema version ${r.from_version} to ${r.schema_version} (applied ${r.applied.join(", ")}; ${schema})\n`);
  else io.out(`${dbPath} is current (${schema}); nothing to do\n`);
  return EXIT_OK;
}

export function registerInit(program: Command, app: App): void {
  withCommon(
    program
      .command("init")
      .summary("create an empty database, or bring an existing one up to date")
      .description(
        "Create the database with the whole schema (every table, index, view and trigger), so that\n" +
          "producers writing the tables directly can start; on an existing obs database, apply the\n" +
          "migrations it lacks or say it is current. A file that is not an obs database is left alone (exit 2).",
      ),
  )
    .addHelpText("after", "\nExamples:\n  obs init\n  obs init --db database/ideas.db\n  OBS_DB=run.db obs init --json")
    .action(async (o: CommonOpts) => {
      app.code = await runInit(o, app.io);
    });
}
