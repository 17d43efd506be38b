import type { Command } from "commander";
import type { Store } from "../../store/store.js";
import { DemoOrder } from "../demo/order.js";
import { type DatabaseOptions, withStore } from "../options.js";
import { formatEvent } from "./events.js";

/** `meowmx demo`: the orders demo, on the embedded database unless `--url` says otherwise. */
export function registerDemo(program: Command, global: () => DatabaseOptions): void {
  program
    .command("demo")
    .description("run the orders demo (embedded PGlite in memory unless --url or --data-dir)")
    .action(async () => {
      const options = global();
      const where = options.url === undefined && options.dataDir === undefined ? { ...options, dataDir: "memory://" } : options;
      await withStore(where, runDemo, true);
    });
}

async function runDemo(store: Store): Promise<void> {
  console.log(`meowmx demo on ${store.backendKind === "pglite" ? "embedded PGlite" : "PostgreSQL"}, schema ${store.schema}\n`);
  const orders = store.repository(DemoOrder);

  await orders.create("o-1", () => DemoOrder.events.OrderCreated({ customerId: "c-1" }));
  console.log("1. order o-1 created for customer c-1");

  const clerks = ["apple", "book", "chair", "desk", "easel", "flute", "globe", "hat"];
  const results = await Promise.all(
    clerks.map((sku, i) => orders.update("o-1", () => DemoOrder.events.ItemAdded({ sku, price: 10 + i }))),
  );
  const attempts = results.map((result) => result.attempts);
  console.log(`2. 8 clerks added an item each at the same moment; retries made every one land (attempts: ${attempts.join(", ")})`);

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
