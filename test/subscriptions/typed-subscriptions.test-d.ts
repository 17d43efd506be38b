import { describe, expectTypeOf, it } from "vitest";
import type { RecordedEvent, Store } from "../../src/index.js";
import { Order, Refund } from "../support/aggregates.js";

declare const store: Store;

describe("subscriptions are typed by their definitions", () => {
  it("hands handlers the union of the definitions' events, and raw events without from", () => {
    store.subscribe({
      name: "typed",
      from: [Order, Refund],
      handler: (event) => {
        expectTypeOf(event.type).toEqualTypeOf<"OrderCreated" | "OrderShipped" | "Refunded" | "RefundCancelled">();
        if (event.type === "OrderCreated") expectTypeOf(event.data).toEqualTypeOf<{ customerId: string; total: number }>();
      },
    });
    store.subscribe({
      name: "batches",
      from: [Order],
      handleBatch: (events) => {
        expectTypeOf(events[0]!.type).toEqualTypeOf<"OrderCreated" | "OrderShipped">();
      },
    });
    store.subscribe({ name: "raw", aggregateTypes: ["order"], handler: (event) => void expectTypeOf(event).toEqualTypeOf<RecordedEvent>() });
  });

  it("refuses both handlers, and both sources", () => {
    // @ts-expect-error one of handler and handleBatch
    store.subscribe({ name: "both", handler: () => undefined, handleBatch: () => undefined });
    // @ts-expect-error from or aggregateTypes
    store.subscribe({ name: "sources", from: [Order], aggregateTypes: ["order"], handler: () => undefined });
  });
});
