import type { Command } from "commander";
import { StreamCatalog } from "../../log/stream-catalog.js";
import { type DatabaseOptions, withStore } from "../options.js";
import { progressBar } from "../progress.js";

/** `meowmx rebuild <projection>`: rebuilds a projection from the config file, with a progress bar. */
export function registerRebuild(program: Command, global: () => DatabaseOptions): void {
  program
    .command("rebuild")
    .description("rebuild a projection named in meowmx.config.ts from the first event")
    .argument("<projection>", "the projection's name")
    .action(async (name: string) => {
      await withStore(global(), async (store, config) => {
        const projection = config.projections?.find((candidate) => candidate.name === name);
        if (projection === undefined) throw new Error(`no projection named ${name} in the config file`);
        const bar = progressBar(await new StreamCatalog(store.schema).countEvents(store.db, projection.aggregateTypes));
        const result = await store.projection(projection).rebuild({ onProgress: bar.update });
        bar.done();
        console.log(`rebuilt ${name}: ${result.events} events into ${result.keys} states`);
      });
    });
}
