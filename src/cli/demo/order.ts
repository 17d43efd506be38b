import { z } from "zod";
import { defineAggregate } from "../../aggregates/define-aggregate.js";

/** The demo's order: created, items added, shipped. */
export const DemoOrder = defineAggregate({
  type: "order",
  events: {
    OrderCreated: z.object({ customerId: z.string() }),
    ItemAdded: z.object({ sku: z.string(), price: z.number().nonnegative() }),
    OrderShipped: z.object({ trackingCode: z.string() }),
  },
  initialState: { status: "none" as "none" | "open" | "shipped", customerId: "", items: 0, total: 0 },
  evolve: {
    OrderCreated: (draft, data) => {
      draft.status = "open";
      draft.customerId = data.customerId;
    },
    ItemAdded: (draft, data) => {
      draft.items += 1;
      draft.total += data.price;
    },
    OrderShipped: (draft) => {
      draft.status = "shipped";
    },
  },
});
