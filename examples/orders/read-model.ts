import type { Kysely } from "kysely";
import type { Store } from "meowmx";
import { Order } from "./order.js";

/** The user's own table (`table` may be "schema.table"), one row per order, kept by a subscription. */
export async function createOrdersTable(db: Kysely<any>, table = "orders"): Promise<void> {
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn("id", "text", (column) => column.primaryKey())
    .addColumn("customer_id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("items", "integer", (column) => column.notNull())
    .addColumn("total", "double precision", (column) => column.notNull())
    .addColumn("version", "integer", (column) => column.notNull())
    .execute();
}

/**
 * Keeps the `orders` table up to date: for each order event, load the order through the
 * transaction and upsert its row. The row and the checkpoint commit together, exactly once.
 */
export function startOrdersReadModel(store: Store, table = "orders") {
  return store.subscribe({
    name: "orders-table",
    aggregateTypes: [Order.type],
    handler: async (event, tx) => {
      const { state, version } = await tx.repository(Order).load(event.aggregateId);
      const row = { id: event.aggregateId, customer_id: state.customerId, status: state.status, items: state.items, total: state.total, version };
      await tx.db
        .insertInto(table)
        .values(row)
        .onConflict((conflict) => conflict.column("id").doUpdateSet(row))
        .execute();
    },
  });
}
