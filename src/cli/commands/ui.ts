import type { Command } from "commander";
import { startExplorer } from "../../explorer/explorer.js";
import { EXPLORER_DEFAULTS } from "../../explorer/options.js";
import { connect } from "../../store/connect.js";
import { type DatabaseOptions, connectConfigOf } from "../options.js";
import { portNumber } from "../parse.js";

/** `meowmx ui`: serves the explorer over the configured store until Ctrl-C. */
export function registerUi(program: Command, global: () => DatabaseOptions): void {
  program
    .command("ui")
    .description("serve the explorer: a web page of the streams, the live log, subscriptions and projections")
    .option("--port <n>", "the port (0: any free port)", portNumber, EXPLORER_DEFAULTS.port)
    .option("--host <address>", "the address to bind; other machines reach it only if this is not a loopback address", EXPLORER_DEFAULTS.host)
    .option("--allow-writes", "let the page replay parked events and rebuild projections")
    .action(async (options: { port: number; host: string; allowWrites?: boolean }) => {
      const { connectConfig, config } = await connectConfigOf(global());
      const store = await connect({ ...connectConfig, migrate: false });
      try {
        const explorer = await startExplorer(store, {
          ...options,
          aggregates: config.aggregates,
          projections: config.projections,
          subscriptions: config.subscriptions,
        });
        console.log(`meowmx explorer on ${explorer.url} (${options.allowWrites ? "writes allowed" : "read-only"}); Ctrl-C stops it`);
        await new Promise((stop) => {
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        await explorer.close();
      } finally {
        await store.close();
      }
    });
}
