import type { Command } from "commander";
import { StreamCatalog } from "../../log/stream-catalog.js";
import { type DatabaseOptions, withStore } from "../options.js";
import { progressBar } from "../progress.js";

/**
 * `meowmx check`: reads every stored event of the config file's aggregates through them, as loads
 * will after a deploy; exits 1 when any fails. A gate to run before deploying new definitions.
 */
export function registerCheck(program: Command, global: () => DatabaseOptions): void {
  program
    .command("check")
    .description("read every stored event through the aggregates of meowmx.config.ts; exit 1 when any cannot be read")
    .option("--json", "the report as one JSON object")
    .action(async (options: { json?: boolean }) => {
      const failed = await withStore(global(), async (store, config) => {
        const aggregates = config.aggregates ?? [];
        if (aggregates.length === 0) throw new Error("the config file names no aggregates (defineConfig({ aggregates }))");
        const bar = progressBar(await new StreamCatalog(store.schema).countEvents(store.db, aggregates.map((aggregate) => aggregate.type)));
        const report = await store.checkEvents(aggregates, { onProgress: options.json ? undefined : bar.update });
        if (!options.json) bar.done();
        if (options.json) {
          console.log(JSON.stringify(report));
          return report.failed;
        }
        for (const [key, count] of Object.entries(report.counts).sort()) console.log(`${key}  ${count}`);
        for (const failure of report.failures) console.log(`\nFAILED at ${failure.position}: ${failure.message}`);
        if (report.failed > report.failures.length) console.log(`\n... and ${report.failed - report.failures.length} more`);
        console.log(`\nchecked ${report.checked} events: ${report.failed === 0 ? "all readable" : `${report.failed} cannot be read`}`);
        return report.failed;
      });
      if (failed > 0) process.exitCode = 1;
    });
}
