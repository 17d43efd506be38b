import { describe, expectTypeOf, it } from "vitest";
import { defineProjection, type ProjectionStateOf } from "../../src/index.js";
import { CustomerTotals, Order, Refund } from "../support/aggregates.js";

describe("projection types flow from the aggregates' schemas", () => {
  it("types reducers by aggregate type and event type, and the key function by the events", () => {
    defineProjection({
      name: "typed",
      from: [Order, Refund],
      key: (event) => {
        expectTypeOf(event.type).toEqualTypeOf<"OrderCreated" | "OrderShipped" | "Refunded" | "RefundCancelled">();
        return event.aggregateId;
      },
      initialState: { total: 0 },
      evolve: {
        order: {
          OrderCreated: (draft, data) => {
            expectTypeOf(data).toEqualTypeOf<{ customerId: string; total: number }>();
            draft.total += data.total;
          },
        },
        refund: {
          Refunded: (draft, data) => {
            expectTypeOf(data.amount).toEqualTypeOf<number>();
            // @ts-expect-error the state has no such field
            draft.missing = 1;
          },
        },
        // @ts-expect-error invoice is not among the aggregates
        invoice: {},
      },
    });
    expectTypeOf<ProjectionStateOf<typeof CustomerTotals>>().toEqualTypeOf<{ orders: number; total: number; refunded: number }>();
  });
});
