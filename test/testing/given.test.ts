import { AssertionError } from "node:assert";
import { given } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { EventValidationError } from "../../src/index.js";
import { Order } from "../support/aggregates.js";

const created = Order.events.OrderCreated({ customerId: "c-1", total: 5 });
const ship = (order: { status: string }) => {
  if (order.status !== "created") throw new Error("cannot ship");
  return Order.events.OrderShipped({ trackingCode: "T" });
};

describe("given/when/then", () => {
  it("passes when the command returns the expected events or state", () => {
    given(Order, [created]).when(ship).then([Order.events.OrderShipped({ trackingCode: "T" })]);
    given(Order, [created]).when(ship).then(Order.events.OrderShipped({ trackingCode: "T" }));
    given(Order, [created]).when(ship).thenState({ status: "shipped", customerId: "c-1", total: 5 });
    given(Order, [created]).when(() => undefined).thenNothing();
    given(Order).when(ship).thenThrows(/cannot ship/);
    given(Order).when(ship).thenThrows("cannot");
    given(Order).when(ship).thenThrows(Error);
  });

  it("awaits any thenable a command returns, as Repository.update does", async () => {
    const thenable = (value: unknown) => ({ then: (resolve: (v: unknown) => void) => resolve(value) });
    const shipLater = (order: { status: string }) => thenable(ship(order)) as never;
    await given(Order, [created]).when(shipLater).then(Order.events.OrderShipped({ trackingCode: "T" }));
    await given(Order, [created]).when(() => thenable(undefined) as never).thenNothing();
  });

  it("fails with a readable diff when the events differ", () => {
    const failure = (() => {
      try {
        given(Order, [created]).when(ship).then([Order.events.OrderShipped({ trackingCode: "OTHER" })]);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(AssertionError);
    expect((failure as Error).message).toMatch(/the command returned other events than expected/);
    expect((failure as Error).message).toMatch(/- {6}trackingCode: 'OTHER'|trackingCode: 'OTHER'/);
    expect((failure as Error).message).toMatch(/trackingCode: 'T'/);
  });

  it("fails when the command throws, returns, or throws something else than expected", () => {
    expect(() => given(Order).when(ship).then([])).toThrow(/the command threw: Error: cannot ship/);
    expect(() => given(Order, [created]).when(ship).thenThrows(/cannot/)).toThrow(/expected the command to throw/);
    expect(() => given(Order).when(ship).thenThrows(TypeError)).toThrow(/does not match/);
    expect(() => given(Order, [created]).when(ship).thenNothing()).toThrow(AssertionError);
    expect(() => given(Order, [created]).when(ship).thenState(Order.initialState)).toThrow(/not the expected one/);
  });

  it("checks async commands through the promise it returns", async () => {
    await given(Order, [created])
      .when(async (order) => ship(order))
      .then([Order.events.OrderShipped({ trackingCode: "T" })]);
    await expect(given(Order).when(async (order) => ship(order)).then([])).rejects.toThrow(/cannot ship/);
    await given(Order).when(async (order) => ship(order)).thenThrows(/cannot ship/);
  });

  it("validates the given events and what the command returns", () => {
    expect(() => given(Order, [{ type: "OrderCreated", data: { customerId: "c", total: -1 } }])).toThrow(EventValidationError);
    expect(() =>
      given(Order, [created])
        .when(() => ({ type: "OrderShipped" as const, data: { trackingCode: 7 as unknown as string } }))
        .thenNothing(),
    ).toThrow(EventValidationError);
  });
});
