import { defineProjection } from "meowmx";
import { Order } from "./order.js";

/** Per customer: how many orders and how much they add up to, kept by meowmx as a projection. */
export const CustomerTotals = defineProjection({
  name: "customer-totals",
  from: [Order],
  // Only OrderCreated has a reducer, so only it is ever keyed.
  key: (event) => (event.type === "OrderCreated" ? event.data.customerId : event.aggregateId),
  initialState: { orders: 0 },
  evolve: {
    order: {
      OrderCreated: (draft) => {
        draft.orders += 1;
      },
    },
  },
});
