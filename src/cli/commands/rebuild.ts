import type { Command } from "commander";
import { sql } from "kysely";
import type { RebuildProgress } from "../../projections/projection-runner.js";
import { type DatabaseOptions, withStore } from "../options.js";

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
        const { rows } = await sql<{ total: number }>`
          select count(*)::int as total from ${sql.id(store.schema, "events")}
          where aggregate_type = any(${[...projection.aggregateTypes]}::text[])`.execute(store.db);
        const bar = progressBar(rows[0]?.total ?? 0);
        const result = await store.projection(projection).rebuild({ onProgress: bar.update });
        bar.done();
        console.log(`rebuilt ${name}: ${result.events} events into ${result.keys} states`);
      });
    });
}

/** A progress line on stderr: a bar, events done of the total, the rate and the time left. */
export function progressBar(total: number, width = 30) {
  const started = performance.now();
  const render = (progress: RebuildProgress) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? progress.events / seconds : 0;
    const share = total > 0 ? Math.min(1, progress.events / total) : 1;
    const filled = Math.round(share * width);
    const left = rate > 0 ? Math.max(0, (total - progress.events) / rate) : 0;
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${progress.events.toLocaleString("en")}/${total.toLocaleString("en")} events  ${Math.round(rate).toLocaleString("en")} ev/s  ETA ${left.toFixed(0)} s`;
  };
  return {
    update: (progress: RebuildProgress) => process.stderr.write(`\r${render(progress)}`),
    done: () => process.stderr.write("\n"),
  };
}
