/**
 * The orders example: `npx tsx examples/orders/main.ts` (embedded PGlite; DATABASE_URL for PostgreSQL).
 * An aggregate with its commands, a repository, a subscription keeping the user's own `orders`
 * table through `tx`, and a projection.
 */
import { connect } from "meowmx";
import { CustomerTotals } from "./customer-totals.js";
import { addItem, Order, ship } from "./order.js";
import { createOrdersTable, startOrdersReadModel } from "./read-model.js";

// A schema of its own, dropped at the end, so that the example can run again on a shared PostgreSQL.
const schema = `orders_example_${process.pid}`;
const store = await connect({ schema });
const table = `${schema}.orders`;
await createOrdersTable(store.db, table);
const readModel = startOrdersReadModel(store, table);
const totals = store.projection(CustomerTotals).start();
const orders = store.repository(Order);

for (const [id, customer] of [["o-1", "alice"], ["o-2", "alice"], ["o-3", "bob"]] as const) {
  await orders.create(id, () => Order.events.OrderCreated({ customerId: customer }));
}
await Promise.all(["pen", "ink", "paper"].map((sku, i) => orders.update("o-1", (order) => addItem(order, sku, 2 + i))));
await orders.update("o-3", (order) => addItem(order, "hat", 25));
await orders.update("o-1", (order) => ship(order, "TRK-1"));
const refused = await orders.update("o-2", (order) => ship(order, "TRK-2")).catch((error: Error) => error.message);

await readModel.caughtUp();
await totals.caughtUp();
console.log("orders table:");
for (const row of await store.db.selectFrom(table).selectAll().orderBy("id").execute()) {
  console.log(`  ${row.id}  ${row.customer_id}  ${row.status}  ${row.items} items  ${row.total}  (version ${row.version})`);
}
console.log(`shipping o-2 was refused: ${refused}`);
console.log(`alice has ${(await totals.get("alice"))?.orders} orders, bob ${(await totals.get("bob"))?.orders}`);
await readModel.stop();
await totals.stop();
await store.db.schema.dropSchema(schema).cascade().execute();
await store.close();
