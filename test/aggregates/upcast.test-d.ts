import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineAggregate } from "../../src/index.js";

const base = {
  type: "order",
  events: { OrderCreated: z.object({ customerId: z.string(), total: z.number() }), OrderShipped: z.object({ trackingCode: z.string() }) },
  initialState: {},
  evolve: { OrderCreated: () => undefined, OrderShipped: () => undefined },
} as const;

describe("upcasters are typed from their schemas", () => {
  it("hands each step the output of its own from schema, and a retired type's step too", () => {
    defineAggregate({
      ...base,
      upcast: {
        OrderCreated: [
          {
            from: z.object({ customer: z.string() }),
            up: (v1) => {
              expectTypeOf(v1).toEqualTypeOf<{ customer: string }>();
              return { customerId: v1.customer };
            },
          },
          {
            from: z.object({ customerId: z.string() }),
            up: (v2) => {
              expectTypeOf(v2).toEqualTypeOf<{ customerId: string }>();
              return { ...v2, total: 0 };
            },
          },
        ],
        OrderPlaced: {
          from: z.object({ client: z.string() }),
          up: (old) => {
            expectTypeOf(old).toEqualTypeOf<{ client: string }>();
            return { type: "OrderCreated", data: { customerId: old.client, total: 0 } };
          },
        },
      },
    });
  });

  it("requires the last step to yield the current shape, and a retired type to become a current event", () => {
    defineAggregate({
      ...base,
      // @ts-expect-error the last step must give { customerId, total }
      upcast: { OrderCreated: [{ from: z.object({ customer: z.string() }), up: (v1) => ({ customerId: v1.customer }) }] },
    });
    defineAggregate({
      ...base,
      upcast: {
        // @ts-expect-error OrderCancelled is no event type of order
        OrderPlaced: { from: z.object({ client: z.string() }), up: (old) => ({ type: "OrderCancelled", data: { reason: old.client } }) },
      },
    });
  });
});
