import { z } from "zod";
import { connect, defineAggregate } from "meowmx";

const Order = defineAggregate({
  type: "order",
  events: {
    OrderCreated: z.object({ customerId: z.string(), total: z.number().nonnegative() }),
    OrderShipped: z.object({ trackingCode: z.string() }),
  },
  initialState: { status: "none" as "none" | "created" | "shipped", customerId: "", total: 0 },
  evolve: {
    OrderCreated: (draft, data) => {
      draft.status = "created";
      draft.customerId = data.customerId;
      draft.total = data.total;
    },
    OrderShipped: (draft) => {
      draft.status = "shipped";
    },
  },
});

const store = await connect(); // embedded PGlite in memory; DATABASE_URL picks PostgreSQL
const orders = store.repository(Order);
const id = crypto.randomUUID();

await orders.create(id, () => Order.events.OrderCreated({ customerId: "c-1", total: 42 }));
const { state, version } = await orders.update(id, (order) => {
  if (order.status !== "created") throw new Error("cannot ship");
  return Order.events.OrderShipped({ trackingCode: "TRK-1" });
});
console.log(`order ${id} is ${state.status} at version ${version}`);

for (const event of await store.load("order", id)) {
  console.log(event.position, `version ${event.version}`, event.type, event.data);
}
await store.close();
