import { z } from "zod";
import { defineAggregate, type StateOf } from "meowmx";

/** An order: created for a customer, items added, then shipped. */
export const Order = defineAggregate({
  type: "order",
  events: {
    OrderCreated: z.object({ customerId: z.string().min(1) }),
    ItemAdded: z.object({ sku: z.string().min(1), price: z.number().nonnegative() }),
    OrderShipped: z.object({ trackingCode: z.string().min(1) }),
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

export type OrderState = StateOf<typeof Order>;

/** The command to ship: only an open order with items can ship. */
export function ship(order: OrderState, trackingCode: string) {
  if (order.status !== "open") throw new Error(`cannot ship an order that is ${order.status}`);
  if (order.items === 0) throw new Error("cannot ship an empty order");
  return Order.events.OrderShipped({ trackingCode });
}

/** The command to add an item: only to an open order. */
export function addItem(order: OrderState, sku: string, price: number) {
  if (order.status !== "open") throw new Error(`cannot add to an order that is ${order.status}`);
  return Order.events.ItemAdded({ sku, price });
}
