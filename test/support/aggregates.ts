import { current } from "immer";
import { z } from "zod";
import { defineAggregate, defineProjection } from "../../src/index.js";

/** The order of API.md, as tests use it. */
export const Order = defineAggregate({
  type: "order",
  events: {
    OrderCreated: z.object({ customerId: z.string().min(1), total: z.number().nonnegative() }),
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

const counterEvents = {
  Added: z.object({ amount: z.number().int() }),
  Reset: z.object({}),
  Tagged: z.object({ tag: z.string() }),
};

const counterInitialState = { total: 0, count: 0, tags: [] as string[] };

/** A counter whose reducers mutate the draft or return a new state, to exercise both. */
export const Counter = defineAggregate({
  type: "counter",
  events: counterEvents,
  initialState: counterInitialState,
  evolve: {
    Added: (draft, data) => {
      draft.total += data.amount;
      draft.count += 1;
    },
    Reset: (draft) => ({ ...counterInitialState, count: draft.count + 1, tags: [...draft.tags] }),
    Tagged: (draft, data) => {
      draft.tags.push(data.tag);
      draft.count += 1;
    },
  },
});

/** The same counter, taking a snapshot every `every` events. */
export const snapshottingCounter = (every: number, snapshotVersion = 0) =>
  defineAggregate({
    type: "counter",
    events: counterEvents,
    initialState: counterInitialState,
    evolve: Counter.reducers,
    snapshotEvery: every,
    snapshotVersion,
  });

/**
 * Lines whose Added keeps its event's data in the state and whose Doubled changes it there, then
 * calls immer's current() on its draft: what a load without drafts cannot fold. A new definition
 * each call, since a definition learns that its loads need drafts.
 */
export const peekingLines = () =>
  defineAggregate({
    type: "lines",
    events: { Added: z.object({ line: z.object({ n: z.number().int() }) }), Doubled: z.object({}) },
    initialState: { lines: [] as { n: number }[], seen: 0 },
    evolve: {
      Added: (draft, data) => {
        draft.lines.push(data.line);
      },
      Doubled: (draft) => {
        for (const line of draft.lines) line.n *= 2;
        draft.seen = current(draft).lines.length;
      },
    },
  });

/** Refunds, a second category for projections over several aggregates. */
export const Refund = defineAggregate({
  type: "refund",
  events: {
    Refunded: z.object({ customerId: z.string().min(1), amount: z.number().nonnegative() }),
    RefundCancelled: z.object({ customerId: z.string().min(1) }),
  },
  initialState: { refunded: 0 },
  evolve: {
    Refunded: (draft, data) => {
      draft.refunded += data.amount;
    },
    RefundCancelled: (draft) => {
      draft.refunded = 0;
    },
  },
});

/** Per customer: orders, total and refunds; a cancelled refund deletes the customer's state. */
export const CustomerTotals = defineProjection({
  name: "customer-totals",
  from: [Order, Refund],
  key: (event) => (event.aggregateType === "order" && event.type === "OrderShipped" ? `order:${event.aggregateId}` : (event.data as { customerId: string }).customerId),
  initialState: { orders: 0, total: 0, refunded: 0 },
  evolve: {
    order: {
      OrderCreated: (draft, data) => {
        draft.orders += 1;
        draft.total += data.total;
      },
    },
    refund: {
      Refunded: (draft, data) => {
        draft.refunded += data.amount;
      },
      RefundCancelled: () => null,
    },
  },
});
