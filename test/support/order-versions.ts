import { z } from "zod";
import { defineAggregate } from "../../src/index.js";

/** Three releases of one order aggregate, as a team would ship them, for schema evolution tests. */
const initialState = { status: "none" as "none" | "created" | "shipped", customerId: "", total: 0, currency: "" };

/** Release 1: orders know their customer, nothing else. */
export const OrderV1 = defineAggregate({
  type: "order",
  events: { OrderCreated: z.object({ customer: z.string() }), OrderPlaced: z.object({ customer: z.string() }) },
  initialState,
  evolve: {
    OrderCreated: (draft, data) => void Object.assign(draft, { status: "created", customerId: data.customer }),
    OrderPlaced: (draft, data) => void Object.assign(draft, { status: "created", customerId: data.customer }),
  },
});

/** Release 2: the field is renamed and a total added; OrderPlaced is still written by old clients. */
export const OrderV2 = defineAggregate({
  type: "order",
  events: { OrderCreated: z.object({ customerId: z.string(), total: z.number() }), OrderPlaced: z.object({ customer: z.string() }) },
  initialState,
  evolve: {
    OrderCreated: (draft, data) => void Object.assign(draft, { status: "created", customerId: data.customerId, total: data.total }),
    OrderPlaced: (draft, data) => void Object.assign(draft, { status: "created", customerId: data.customer }),
  },
  upcast: { OrderCreated: [{ from: z.object({ customer: z.string() }), up: (v1) => ({ customerId: v1.customer, total: 0 }) }] },
});

/** Release 3: a currency, OrderPlaced retired, OrderShipped added. */
export const OrderV3 = defineAggregate({
  type: "order",
  events: {
    OrderCreated: z.object({ customerId: z.string(), total: z.number(), currency: z.string() }),
    OrderShipped: z.object({ trackingCode: z.string() }),
  },
  initialState,
  evolve: {
    OrderCreated: (draft, data) => void Object.assign(draft, { status: "created", customerId: data.customerId, total: data.total, currency: data.currency }),
    OrderShipped: (draft) => void (draft.status = "shipped"),
  },
  upcast: {
    OrderCreated: [
      { from: z.object({ customer: z.string() }), up: (v1) => ({ customerId: v1.customer, total: 0 }) },
      { from: z.object({ customerId: z.string(), total: z.number() }), up: (v2) => ({ ...v2, currency: "EUR" }) },
    ],
    OrderPlaced: { from: z.object({ customer: z.string() }), up: (old) => ({ type: "OrderCreated", data: { customerId: old.customer, total: 0, currency: "EUR" } }) },
  },
});
