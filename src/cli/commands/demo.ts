import type { Command } from "commander";
import { connect } from "../../store/connect.js";
import type { Store } from "../../store/store.js";
import { DemoOrder } from "../demo/order.js";
import type { DatabaseOptions } from "../options.js";
import { formatEvent } from "./events.js";

/** `meowmx demo`: the orders demo, on the embedded database unless `--url` says otherwise. */
export function registerDemo(program: Command, global: () => DatabaseOptions): void {
  program
    .command("demo")
    .description("run the orders demo (embedded PGlite in memory unless --url or --data-dir)")
    .action(async () => {
      const options = global();
      // Two stores over one database, as two application processes would have: their writers race.
      const where = { ...(options.schema === undefined ? {} : { schema: options.schema }), ...(options.aggregateIdType === undefined ? {} : { aggregateIdType: options.aggregateIdType }) };
      if (options.url !== undefined) {
        const stores = [await connect({ ...where, connectionString: options.url }), await connect({ ...where, connectionString: options.url })] as const;
        await runDemo(...stores).finally(() => Promise.all(stores.map((store) => store.close())));
        return;
      }
      const { PGlite } = await import("@electric-sql/pglite");
      const pglite = await PGlite.create(options.dataDir ?? "memory://");
      try {
        await runDemo(await connect({ ...where, pglite }), await connect({ ...where, pglite }));
      } finally {
        await pglite.close();
      }
    });
}

async function runDemo(store: Store, otherTerminal: Store): Promise<void> {
  console.log(`meowmx demo on ${store.backendKind === "pglite" ? "embedded PGlite" : "PostgreSQL"}, schema ${store.schema}\n`);
  const orders = store.repository(DemoOrder);

  await orders.create("o-1", () => DemoOrder.events.OrderCreated({ customerId: "c-1" }));
  console.log("1. order o-1 created for customer c-1");

  // Four clerks at each of two terminals (two stores): within a store, updates of one stream queue
  // up; between the stores they race, and the losers catch up and run again.
  const clerks = ["apple", "book", "chair", "desk", "easel", "flute", "globe", "hat"];
  const results = await Promise.all(
    clerks.map((sku, i) =>
      (i % 2 === 0 ? orders : otherTerminal.repository(DemoOrder)).update("o-1", () => DemoOrder.events.ItemAdded({ sku, price: 10 + i })),
    ),
  );
  const attempts = results.map((result) => result.attempts);
  const retried = attempts.filter((count) => count > 1).length;
  console.log(
    `2. 8 clerks at two terminals added an item each at the same moment; ${retried} of them found the other terminal had written first ` +
      `and ran again (attempts: ${attempts.join(", ")}); every item landed`,
  );

  const shipped = await orders.update("o-1", (order) => {
    if (order.status !== "open") throw new Error("only an open order can ship");
    return DemoOrder.events.OrderShipped({ trackingCode: "TRK-1" });
  });
  console.log(`3. shipped: ${shipped.state.items} items, total ${shipped.state.total}, stream at version ${shipped.version}`);

  const again = await orders.update("o-1", (order) => {
    if (order.status !== "open") throw new Error("only an open order can ship");
    return DemoOrder.events.OrderShipped({ trackingCode: "TRK-2" });
  }).catch((error: Error) => error.message);
  console.log(`4. shipping it again is refused by the domain: "${again}"`);

  try {
    DemoOrder.events.ItemAdded({ sku: "ghost", price: -1 });
  } catch (error) {
    console.log(`5. an invalid event never reaches the log: ${(error as Error).message.split("\n").join(" ")}`);
  }

  console.log("\nthe log, in commit order:");
  for await (const event of store.readAll()) console.log(`  ${formatEvent(event)}`);
}
