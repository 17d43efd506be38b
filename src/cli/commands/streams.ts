import type { Command } from "commander";
import { StreamCatalog } from "../../log/stream-catalog.js";
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
        const { streams } = await new StreamCatalog(store.schema).streams(store.db, aggregateType, { limit: options.limit });
        for (const stream of streams) console.log(`${aggregateType}/${stream.aggregateId}  version ${stream.version}  ${stream.updatedAt.toISOString()}`);
      });
    });
}
