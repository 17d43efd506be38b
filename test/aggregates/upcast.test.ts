import { given } from "meowmx/testing";
import { checkAggregate, checkUpcasters } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAggregate, EventValidationError, InvalidArgumentError, type RecordedEvent } from "../../src/index.js";
import { OrderV3 } from "../support/order-versions.js";

/** An event as the log hands it over: stored data at a schema version. */
const stored = (type: string, data: unknown, schemaVersion: number, version = 1): RecordedEvent => ({
  id: crypto.randomUUID(),
  aggregateType: "order",
  aggregateId: "o-1",
  version,
  type,
  data,
  metadata: {},
  position: `0000000000000001-${version.toString(16).padStart(16, "0")}`,
  createdAt: new Date(0),
  schemaVersion,
});

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as EventValidationError;
  }
  throw new Error("expected a failure");
};

describe("upcasting", () => {
  it("lifts stored data step by step from any version, and a retired type to a current event", () => {
    const current = { customerId: "c-1", total: 0, currency: "EUR" };
    expect(OrderV3.parseEvent(stored("OrderCreated", { customer: "c-1" }, 1))).toMatchObject({ type: "OrderCreated", data: current, schemaVersion: 1 });
    expect(OrderV3.parseEvent(stored("OrderCreated", { customerId: "c-1", total: 0 }, 2))!.data).toEqual(current);
    expect(OrderV3.parseEvent(stored("OrderCreated", current, 3))!.data).toEqual(current);
    expect(OrderV3.parseEvent(stored("OrderPlaced", { customer: "c-1" }, 1))).toMatchObject({ type: "OrderCreated", data: current });
    expect(OrderV3.fold([stored("OrderPlaced", { customer: "c-1" }, 1), stored("OrderShipped", { trackingCode: "T" }, 1, 2)].map((e) => OrderV3.parseEvent(e)!))).toEqual({
      status: "shipped",
      ...current,
    });
    expect(OrderV3.events.OrderCreated(current).schemaVersion).toBe(3);
    expect(OrderV3.events.OrderShipped({ trackingCode: "T" }).schemaVersion).toBeUndefined();
    expect(OrderV3.parseNewEvent({ type: "OrderCreated", data: current }).schemaVersion).toBe(3);
  });

  it("names the aggregate, stream, version, type, stored schema version and step of every failure", () => {
    const newer = failure(() => OrderV3.parseEvent(stored("OrderCreated", {}, 4, 7)));
    expect(newer).toBeInstanceOf(EventValidationError);
    expect(newer).toMatchObject({ aggregateType: "order", aggregateId: "o-1", version: 7, eventType: "OrderCreated", schemaVersion: 4 });
    expect(newer.message).toMatch(/order\/o-1 at version 7 \(stored at schema version 4\)[\s\S]*knows versions 1 to 3: it was written by newer code/);
    const firstStep = failure(() => OrderV3.parseEvent(stored("OrderCreated", { customerId: "c" }, 1)));
    expect(firstStep).toMatchObject({ schemaVersion: 1, step: 1 });
    expect(firstStep.message).toMatch(/in upcast step 1 \(1 -> 2\)[\s\S]*customer/);
    const secondStep = failure(() => OrderV3.parseEvent(stored("OrderCreated", { customerId: "c" }, 2)));
    expect(secondStep).toMatchObject({ schemaVersion: 2, step: 2 });
    const retiredNewer = failure(() => OrderV3.parseEvent(stored("OrderPlaced", { customer: "c" }, 2)));
    expect(retiredNewer.schemaVersion).toBe(2);
  });

  it("fails clearly on a step that throws, returns what is not JSON, or yields what the current schema refuses", () => {
    const define = (up: (old: { n: number }) => unknown) =>
      defineAggregate({
        type: "thing",
        events: { Made: z.object({ n: z.number(), label: z.string() }) },
        initialState: {},
        evolve: { Made: () => undefined },
        upcast: { Made: [{ from: z.object({ n: z.number() }), up: up as (old: { n: number }) => { n: number; label: string } }] },
      });
    const at = (aggregate: ReturnType<typeof define>) => failure(() => aggregate.parseEvent({ ...stored("Made", { n: 1 }, 1), aggregateType: "thing" }));
    expect(at(define(() => { throw new Error("boom"); })).issues[0]).toMatchObject({ code: "upcast_threw", message: "the step threw: boom" });
    expect(at(define((old) => ({ n: old.n, label: "x", when: new Date(0) }))).issues[0]).toMatchObject({ code: "upcast_not_json" });
    const refused = at(define((old) => ({ n: old.n })));
    expect(refused).toMatchObject({ schemaVersion: 1, step: undefined });
    expect(refused.issues[0]!.path).toEqual(["label"]);
  });

  it("refuses upcasters that are not steps at definition", () => {
    const base = { type: "thing", events: { Made: z.object({ n: z.number() }) }, initialState: {}, evolve: { Made: () => undefined } } as const;
    const from = z.object({ n: z.number() });
    const refuse = (upcast: unknown) => expect(() => defineAggregate({ ...base, upcast: upcast as never })).toThrow(InvalidArgumentError);
    refuse({ Made: { from, up: (old: unknown) => old } });
    refuse({ Made: [] });
    refuse({ Made: [{ from, up: "no" }] });
    refuse({ Made: [{ from: "no", up: (old: unknown) => old }] });
    refuse({ Gone: [{ from, up: () => ({ type: "Made", data: { n: 1 } }) }] });
    refuse([]);
  });

  it("keys snapshots by the upcasters too", () => {
    const version = (up: (old: { a: number }) => { n: number }) =>
      defineAggregate({
        type: "thing",
        events: { Made: z.object({ n: z.number() }) },
        initialState: { n: 0 },
        evolve: { Made: (draft, data) => void (draft.n = data.n) },
        snapshotEvery: 10,
        upcast: { Made: [{ from: z.object({ a: z.number() }), up }] },
      });
    expect(version((old) => ({ n: old.a })).snapshotKey).not.toBe(version((old) => ({ n: old.a * 2 })).snapshotKey);
  });

  it("checks upcasters with generated data: results the current schema accepts, from pure steps", () => {
    checkUpcasters(OrderV3);
    checkAggregate(OrderV3);
    const lossy = defineAggregate({
      type: "thing",
      events: { Made: z.object({ n: z.number().int().nonnegative() }) },
      initialState: {},
      evolve: { Made: () => undefined },
      upcast: { Made: [{ from: z.object({ n: z.number().int() }), up: (old) => ({ n: old.n }) }] },
    });
    expect(() => checkUpcasters(lossy)).toThrow(/Too small|>=0/);
    let calls = 0;
    const impure = defineAggregate({
      type: "thing",
      events: { Made: z.object({ n: z.number() }) },
      initialState: {},
      evolve: { Made: () => undefined },
      upcast: { Made: [{ from: z.object({ a: z.number() }), up: () => ({ n: calls++ }) }] },
    });
    expect(() => checkUpcasters(impure)).toThrow(/not pure/);
  });

  it("lifts the recorded history given to given(), as a repository would", () => {
    given(OrderV3, [stored("OrderPlaced", { customer: "c-1" }, 1)])
      .when((order) => (order.status === "created" ? OrderV3.events.OrderShipped({ trackingCode: "T" }) : undefined))
      .thenState({ status: "shipped", customerId: "c-1", total: 0, currency: "EUR" });
  });
});
