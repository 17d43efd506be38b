import type { Command } from "commander";
import { eventHandlerOf } from "../../subscriptions/subscription-config.js";
import { type DatabaseOptions, withStore } from "../options.js";

/** `meowmx subscriptions`: each subscription's checkpoint, lag, owner, last error and parked events. */
export function registerSubscriptions(program: Command, global: () => DatabaseOptions): void {
  const subscriptions = program
    .command("subscriptions")
    .description("show each subscription's position, lag, owner, last error and parked events")
    .option("--json", "one JSON object per partition")
    .action(async (options: { json?: boolean }) => {
      await withStore(global(), async (store) => {
        const rows = await store.subscriptionStatus();
        if (rows.length === 0 && !options.json) console.log("no subscriptions");
        for (const row of rows) {
          if (options.json) {
            console.log(JSON.stringify(row));
            continue;
          }
          const where = row.partitions > 1 ? `${row.name}[${row.partition}/${row.partitions}]` : row.name;
          const owner = row.owner === null ? "no worker" : `worker ${row.owner}`;
          console.log(`${where}  lag ${row.lag}  ${owner}  parked ${row.parked}  at ${row.position || "start"}${row.lastError ? `  last error: ${row.lastError}` : ""}`);
        }
      });
    });

  subscriptions
    .command("parked")
    .description("list the events a subscription parked")
    .argument("<name>", "the subscription")
    .action(async (name: string) => {
      await withStore(global(), async (store) => {
        for (const parked of await store.parkedEvents(name)) {
          console.log(`${parked.position}  ${parked.attempts} attempts  ${parked.parkedAt.toISOString()}  ${parked.error}`);
        }
      });
    });

  subscriptions
    .command("replay-parked")
    .description("run a subscription's handler (from the config file) again on its parked events")
    .argument("<name>", "the subscription, as named in meowmx.config.ts")
    .action(async (name: string) => {
      await withStore(global(), async (store, config) => {
        const subscription = config.subscriptions?.find((candidate) => candidate.name === name);
        if (subscription === undefined) throw new Error(`no subscription named ${name} in the config file`);
        const replayed = await store.replayParked(name, eventHandlerOf(subscription));
        console.log(`replayed ${replayed} parked events of ${name}`);
      });
    });

  subscriptions
    .command("reset")
    .description("move every partition of a subscription to the beginning, the end, or after a position")
    .argument("<name>", "the subscription")
    .requiredOption("--to <where>", '"beginning", "end", or a position')
    .action(async (name: string, options: { to: string }) => {
      await withStore(global(), async (store) => {
        await store.resetSubscription(name, options.to);
        console.log(`${name} reset to ${options.to}`);
      });
    });
}
