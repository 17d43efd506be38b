import type { Command } from "commander";
import { sql } from "kysely";
import { type DatabaseOptions, withStore } from "../options.js";
import { positiveInteger } from "../parse.js";

/** `meowmx streams <aggregateType>`: the streams of a category with their versions. */
export function registerStreams(program: Command, global: () => DatabaseOptions): void {
  program
    .command("streams")
    .description("list the streams of a category with their current versions")
    .argument("<aggregateType>", "the category, e.g. order")
    .option("--limit <n>", "at most this many streams", positiveInteger, 100)
    .action(async (aggregateType: string, options: { limit: number }) => {
      await withStore(global(), async (store) => {
        const { rows } = await sql<{ aggregate_id: string; version: number; updated_at: Date }>`
          select aggregate_id::text, version, updated_at from ${sql.id(store.schema, "streams")}
          where aggregate_type = ${aggregateType} order by aggregate_id limit ${options.limit}`.execute(store.db);
        for (const row of rows) console.log(`${aggregateType}/${row.aggregate_id}  version ${row.version}  ${row.updated_at.toISOString()}`);
      });
    });
}
