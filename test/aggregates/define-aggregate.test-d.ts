import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineAggregate, type EventOf, type NewEvent, type Repository, type StateOf } from "../../src/index.js";
import { Order } from "../support/aggregates.js";

describe("aggregate types flow from the zod schemas", () => {
  it("gives the state and the union of events", () => {
    expectTypeOf<StateOf<typeof Order>>().toEqualTypeOf<{
      status: "none" | "created" | "shipped";
      customerId: string;
      total: number;
    }>();
    type Event = EventOf<typeof Order>;
    expectTypeOf<Event["type"]>().toEqualTypeOf<"OrderCreated" | "OrderShipped">();
    expectTypeOf<Extract<Event, { type: "OrderShipped" }>["data"]>().toEqualTypeOf<{ trackingCode: string }>();
  });

  it("lets an event builder take only its own data", () => {
    expectTypeOf(Order.events.OrderShipped({ trackingCode: "X" })).toEqualTypeOf<NewEvent<"OrderShipped", { trackingCode: string }>>();
    // @ts-expect-error OrderShipped has no total
    Order.events.OrderShipped({ total: 1 });
    // @ts-expect-error trackingCode is a string
    Order.events.OrderShipped({ trackingCode: 1 });
    // @ts-expect-error no such event
    Order.events.OrderLost({});
  });

  it("hands each reducer the parsed data of its own event", () => {
    defineAggregate({
      type: "t",
      events: { A: z.object({ n: z.number() }), B: z.object({ s: z.string().default("x") }) },
      initialState: { n: 0, s: "" },
      evolve: {
        A: (draft, data, event) => {
          expectTypeOf(data).toEqualTypeOf<{ n: number }>();
          expectTypeOf(event.type).toEqualTypeOf<"A">();
          draft.n = data.n;
        },
        B: (draft, data) => {
          expectTypeOf(data).toEqualTypeOf<{ s: string }>();
          // @ts-expect-error the state has no such field
          draft.missing = 1;
        },
      },
    });
  });

  it("requires a reducer per event type", () => {
    defineAggregate({
      type: "t",
      events: { A: z.object({}), B: z.object({}) },
      initialState: {},
      // @ts-expect-error B has no reducer
      evolve: { A: () => {} },
    });
  });

  it("types repository commands by the aggregate", () => {
    type Orders = Repository<"order", typeof Order.schemas, StateOf<typeof Order>>;
    expectTypeOf<Parameters<Orders["update"]>[1]>().parameter(0).toEqualTypeOf<StateOf<typeof Order>>();
    expectTypeOf<Awaited<ReturnType<Orders["update"]>>["events"][number]["type"]>().toEqualTypeOf<"OrderCreated" | "OrderShipped">();
  });
});
