import { trace } from "@opentelemetry/api";
import { expect, it } from "vitest";
import { Order } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";

// @opentelemetry/api is installed here, but no SDK is registered: the application asked for nothing.
describeEachBackend("OpenTelemetry without an SDK", ({ newStore }) => {
  it("adds no metadata to events, inside a span or not", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c", total: 1 })]);
    await trace.getTracer("app").startActiveSpan("request", async (span) => {
      await store.repository(Order).update("o-1", () => Order.events.OrderShipped({ trackingCode: "T" }));
      span.end();
    });
    expect((await store.load("order", "o-1")).map((event) => event.metadata)).toEqual([{}, {}]);
  });
});
