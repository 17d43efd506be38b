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

// #region batch
/**
 * Keeps the `orders` table up to date: for each batch of order events (typed by the Order
 * definition), load each order they touch through the transaction and upsert its row, all in one
 * statement. The rows and the checkpoint commit together, exactly once.
 */
export function startOrdersReadModel(store: Store, table = "orders") {
  return store.subscribe({
    name: "orders-table",
    from: [Order],
    handleBatch: async (events, tx) => {
      const ids = [...new Set(events.map((event) => event.aggregateId))];
      const orders = tx.repository(Order);
      const rows = await Promise.all(
        ids.map(async (id) => {
          const { state, version } = await orders.load(id);
          return { id, customer_id: state.customerId, status: state.status, items: state.items, total: state.total, version };
        }),
      );
      await tx.db
        .insertInto(table)
        .values(rows)
        .onConflict((conflict) =>
          conflict.column("id").doUpdateSet((eb) => ({
            customer_id: eb.ref("excluded.customer_id"),
            status: eb.ref("excluded.status"),
            items: eb.ref("excluded.items"),
            total: eb.ref("excluded.total"),
            version: eb.ref("excluded.version"),
          })),
        )
        .execute();
    },
  });
}
// #endregion batch
