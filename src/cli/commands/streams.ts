import type { Command } from "commander";
import { StreamCatalog } from "../../log/stream-catalog.js";
import { type DatabaseOptions, withStore } from "../options.js";
import { positiveInteger } from "../parse.js";

/** `meowmx streams [aggregateType] [--archived]`: the streams of a category with their versions, or the archived ones. */
export function registerStreams(program: Command, global: () => DatabaseOptions): void {
  program
    .command("streams")
    .description("list the streams of a category with their current versions, or (--archived) the archived streams")
    .argument("[aggregateType]", "the category, e.g. order (optional with --archived)")
    .option("--archived", "list archived streams instead, with the version each had and when it was archived")
    .option("--limit <n>", "at most this many streams", positiveInteger, 100)
    .action(async (aggregateType: string | undefined, options: { limit: number; archived?: boolean }) => {
      if (aggregateType === undefined && options.archived !== true) throw new Error("name a category, e.g. meowmx streams order, or list archived streams with --archived");
      await withStore(global(), async (store) => {
        const catalog = new StreamCatalog(store.schema);
        if (options.archived === true) {
          const archived = await catalog.archivedStreams(store.db, aggregateType, options.limit);
          for (const stream of archived) console.log(`${stream.aggregateType}/${stream.aggregateId}  version ${stream.version}  archived ${stream.archivedAt.toISOString()}`);
          return;
        }
        const { streams } = await catalog.streams(store.db, aggregateType!, { limit: options.limit });
        for (const stream of streams) console.log(`${aggregateType}/${stream.aggregateId}  version ${stream.version}  ${stream.updatedAt.toISOString()}`);
      });
    });
}
