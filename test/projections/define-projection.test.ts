import { describe, expect, it } from "vitest";
import { defineProjection, InvalidArgumentError } from "../../src/index.js";
import { Order, Refund } from "../support/aggregates.js";

let version = 0;
const recorded = (aggregateType: string, aggregateId: string, type: string, data: unknown) => ({
  id: crypto.randomUUID(),
  aggregateType,
  aggregateId,
  version: ++version,
  type,
  data,
  metadata: {},
  position: "",
  createdAt: new Date(0),
  schemaVersion: 1,
});

describe("defineProjection", () => {
  const PerStream = defineProjection({
    name: "per-stream",
    from: [Order, Refund],
    initialState: { events: 0 },
    evolve: {
      order: { OrderCreated: (draft) => void (draft.events += 1), OrderShipped: (draft) => void (draft.events += 1) },
      refund: { RefundCancelled: () => null },
    },
  });

  it("folds into one state per stream by default, skips events without a reducer, deletes on null", () => {
    const states = PerStream.fold([
      recorded("order", "o-1", "OrderCreated", { customerId: "c", total: 1 }),
      recorded("order", "o-1", "OrderShipped", { trackingCode: "t" }),
      recorded("refund", "r-1", "Refunded", { customerId: "c", amount: 1 }),
      recorded("order", "o-2", "OrderCreated", { customerId: "c", total: 1 }),
      recorded("invoice", "i-1", "Sent", {}),
    ]);
    expect(Object.fromEntries(states)).toEqual({ "o-1": { events: 2 }, "o-2": { events: 1 } });
    const deleted = PerStream.fold([recorded("refund", "r-1", "RefundCancelled", { customerId: "c" })], new Map([["r-1", { events: 5 }]]));
    expect(deleted.has("r-1")).toBe(false);
    expect(PerStream.aggregateTypes).toEqual(["order", "refund"]);
  });

  it("validates events it folds against their schemas", () => {
    expect(() => PerStream.fold([recorded("order", "o-1", "OrderCreated", { customerId: 1 })])).toThrow(/invalid OrderCreated event/);
  });

  it("refuses reducers for aggregates or events it does not know, and empty keys", () => {
    expect(() => defineProjection({ name: "x", from: [Order], initialState: {}, evolve: { refund: {} } as never })).toThrow(InvalidArgumentError);
    expect(() => defineProjection({ name: "x", from: [Order], initialState: {}, evolve: { order: { OrderLost: () => {} } } as never })).toThrow(/declares no event type OrderLost/);
    expect(() => defineProjection({ name: "", from: [Order], initialState: {}, evolve: {} })).toThrow(InvalidArgumentError);
    const Keyless = defineProjection({ name: "k", from: [Order], key: () => "", initialState: {}, evolve: { order: { OrderShipped: () => {} } } });
    expect(() => Keyless.fold([recorded("order", "o", "OrderShipped", { trackingCode: "t" })])).toThrow(/non-empty string/);
  });
});
