import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { current, immerable, nothing } from "immer";
import { z } from "zod";
import { defineAggregate, type EventOf, EventValidationError, InvalidArgumentError, type RecordedEvent } from "../../src/index.js";
import { DRAFTS_NEEDED } from "../../src/aggregates/fold.js";
import { Counter, Order } from "../support/aggregates.js";

let sequence = 0;
/** A recorded event as the store would hand it over. */
function recorded<T extends string, D>(type: T, data: D, version = ++sequence): RecordedEvent<T, D> {
  return {
    id: crypto.randomUUID(),
    aggregateType: "counter",
    aggregateId: "c-1",
    version,
    type,
    data,
    metadata: {},
    position: "",
    createdAt: new Date(0),
    schemaVersion: 1,
  };
}

const counterEvent = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map((amount) => recorded("Added" as const, { amount })),
  fc.constant(recorded("Reset" as const, {})),
  fc.string({ maxLength: 5 }).map((tag) => recorded("Tagged" as const, { tag })),
);

/** The counter's meaning, written without immer, to check folds against. */
function modelFold(events: ReadonlyArray<ReturnType<typeof recorded<string, any>>>) {
  let state = { total: 0, count: 0, tags: [] as string[] };
  for (const event of events) {
    if (event.type === "Added") state = { ...state, total: state.total + event.data.amount, count: state.count + 1 };
    if (event.type === "Reset") state = { total: 0, count: state.count + 1, tags: [...state.tags] };
    if (event.type === "Tagged") state = { ...state, tags: [...state.tags, event.data.tag], count: state.count + 1 };
  }
  return state;
}

describe("defineAggregate", () => {
  it("builds typed events that are validated at once", () => {
    const event = Order.events.OrderCreated({ customerId: "c-1", total: 10 });
    expect(event).toEqual({ type: "OrderCreated", data: { customerId: "c-1", total: 10 } });
    const error = (() => {
      try {
        Order.events.OrderCreated({ customerId: "c-1", total: -1 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EventValidationError);
    expect(error).toMatchObject({ aggregateType: "order", eventType: "OrderCreated", code: "EVENT_VALIDATION" });
    expect((error as EventValidationError).issues[0]).toMatchObject({ path: ["total"], code: "too_small" });
    expect((error as Error).message).toMatch(/total: /);
  });

  it("refuses a definition with a missing or an extra reducer", () => {
    const events = { A: z.object({}), B: z.object({}) };
    expect(() =>
      // @ts-expect-error B has no reducer
      defineAggregate({ type: "x", events, initialState: {}, evolve: { A: () => {} } }),
    ).toThrow(/no evolve handler for B/);
    expect(() =>
      defineAggregate({ type: "x", events, initialState: {}, evolve: { A: () => {}, B: () => {}, C: () => {} } as never }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      defineAggregate({ type: "x", events, initialState: {}, evolve: { A: () => {}, B: () => {} }, snapshotEvery: 0 }),
    ).toThrow(/snapshotEvery/);
  });

  it("evolves purely: frozen results, input untouched", () => {
    const before = Counter.initialState;
    expect(Object.isFrozen(before)).toBe(true);
    const after = Counter.evolve(before, recorded("Tagged", { tag: "a" }));
    expect(after).toEqual({ total: 0, count: 1, tags: ["a"] });
    expect(before).toEqual({ total: 0, count: 0, tags: [] });
    expect(Object.isFrozen(after) && Object.isFrozen(after.tags)).toBe(true);
    const reset = Counter.evolve(after, recorded("Reset", {}));
    expect(reset).toEqual({ total: 0, count: 2, tags: ["a"] });
    expect(Object.isFrozen(reset.tags)).toBe(true);
  });

  it("folds like the model, whether reducers mutate or return, for any sequence", () => {
    fc.assert(
      fc.property(fc.array(counterEvent, { maxLength: 40 }), (events) => {
        expect(Counter.fold(events)).toEqual(modelFold(events));
      }),
    );
  });

  it("folds in pieces to the same state as in one go", () => {
    fc.assert(
      fc.property(fc.array(counterEvent, { maxLength: 30 }), fc.nat(30), (events, cut) => {
        const split = Math.min(cut, events.length);
        const whole = Counter.fold(events);
        const pieces = Counter.fold(events.slice(split), Counter.fold(events.slice(0, split)));
        const steps = events.reduce((state, event) => Counter.evolve(state, event), Counter.initialState);
        expect(pieces).toEqual(whole);
        expect(steps).toEqual(whole);
      }),
    );
  });

  it("folds each event once, when a reducer changes data an earlier one kept and another returns a new state", () => {
    const Kept = defineAggregate({
      type: "kept",
      events: { Lined: z.object({ n: z.number() }), Bumped: z.object({}), Renamed: z.object({ name: z.string() }) },
      initialState: { lines: [] as { n: number }[], name: "" },
      evolve: {
        Lined: (draft, data) => {
          draft.lines.push(data);
        },
        Bumped: (draft) => {
          for (const line of draft.lines) line.n += 1;
        },
        Renamed: (draft, data) => ({ ...draft, name: data.name }),
      },
    });
    const history = () => [recorded("Lined", { n: 1 }), recorded("Bumped", {}), recorded("Renamed", { name: "x" })] as EventOf<typeof Kept>[];
    expect(Kept.fold(history())).toEqual({ lines: [{ n: 2 }], name: "x" });
    expect(Kept.replay(history())).toEqual({ lines: [{ n: 2 }], name: "x" });
  });

  it("replays stored events (as loads do, without immer drafts) to the state folding gives, frozen, input untouched", () => {
    fc.assert(
      fc.property(fc.clone(fc.array(counterEvent, { maxLength: 30 }), 2), fc.nat(30), ([events, copy], cut) => {
        const split = Math.min(cut, events.length);
        const start = Counter.fold(events.slice(0, split));
        const before = structuredClone(start);
        const replayed = Counter.replay(structuredClone(copy.slice(split)), start) as ReturnType<typeof modelFold>;
        expect(replayed).toEqual(modelFold(events));
        expect(Counter.replay(structuredClone(copy))).toEqual(Counter.fold(events));
        expect(start).toEqual(before);
        expect(Object.isFrozen(replayed) && Object.isFrozen(replayed.tags)).toBe(true);
      }),
    );
  });

  it("replays like fold where immer's drafts would show: returned states, nothing, assigned values, prototypes, immer's own functions", () => {
    class Money {
      [immerable] = true;
      constructor(public cents: number) {}
      euros() {
        return this.cents / 100;
      }
    }
    const when = new Date(5);
    type Ledger = { lines: { sku: string; n: number }[]; balance: Money; at: Date; peeks: number } | undefined;
    const Ledger = defineAggregate({
      type: "ledger",
      events: { Opened: z.object({}), Lined: z.object({ sku: z.string(), n: z.number() }), Bumped: z.object({}), Cleared: z.object({}), Peeked: z.object({}), Failed: z.object({}) },
      initialState: { lines: [], balance: { cents: 0 }, at: when, peeks: 0 } as unknown as Ledger,
      evolve: {
        Opened: () => ({ lines: [], balance: new Money(0), at: when, peeks: 0 }),
        // The event's data goes into the state as it is; a later step changes it there.
        Lined: (draft, data) => {
          draft!.lines.push(data);
          draft!.balance.cents += 100;
        },
        Bumped: (draft) => {
          for (const line of draft!.lines) line.n += 1;
        },
        Cleared: () => nothing as never,
        Peeked: (draft) => {
          draft!.peeks = current(draft)!.lines.length;
        },
        Failed: () => {
          throw new Error("refused");
        },
      },
    });
    // Each fold gets events of its own: replaying changes the data the state holds.
    const history = (...more: RecordedEvent<string, object>[]) =>
      [
        recorded("Lined", { sku: "a", n: 1 }),
        recorded("Bumped", {}),
        recorded("Opened", {}),
        recorded("Lined", { sku: "b", n: 2 }),
        recorded("Lined", { sku: "c", n: 3 }),
        recorded("Bumped", {}),
        ...more.map((event) => structuredClone(event)),
      ] as EventOf<typeof Ledger>[];
    const replayed = Ledger.replay(history()) as Ledger;
    expect(replayed).toEqual(Ledger.fold(history()));
    expect(replayed).toEqual({ lines: [{ sku: "b", n: 3 }, { sku: "c", n: 4 }], balance: new Money(200), at: when, peeks: 0 });
    expect(replayed!.balance).toBeInstanceOf(Money);
    expect(replayed!.balance.euros()).toBe(2);
    expect(replayed!.at).toBe(when);
    expect(Object.isFrozen(replayed!.lines[0]) && Object.isFrozen(replayed!.balance)).toBe(true);
    expect(Ledger.initialState!.balance.cents).toBe(0);
    expect(Ledger.replay(history(recorded("Cleared", {})))).toBeUndefined();
    expect(() => Ledger.replay(history(recorded("Failed", {})))).toThrow("refused");
    // A reducer that calls immer's current() on its draft: the events must be read again, and are
    // folded with drafts from then on.
    const peek = recorded("Peeked", {});
    expect(Ledger.replay(history(peek))).toBe(DRAFTS_NEEDED);
    expect(Ledger.replay(history(peek))).toEqual(Ledger.fold(history(peek)));
    expect((Ledger.replay(history(peek)) as Ledger)!.peeks).toBe(2);
  });

  it("hands reducers the whole event as third argument", () => {
    const seen: number[] = [];
    const Versions = defineAggregate({
      type: "v",
      events: { Happened: z.object({}) },
      initialState: { last: 0 },
      evolve: {
        Happened: (draft, _data, event) => {
          seen.push(event.version);
          draft.last = event.version;
        },
      },
    });
    expect(Versions.fold([recorded("Happened", {}, 1), recorded("Happened", {}, 2)])).toEqual({ last: 2 });
    expect(seen).toEqual([1, 2]);
  });

  it("validates stored events on parse, naming an unknown type unless told to ignore it", () => {
    const good = { ...recorded("OrderShipped", { trackingCode: "T" }), aggregateType: "order" };
    expect(Order.parseEvent(good)).toMatchObject({ type: "OrderShipped", data: { trackingCode: "T" } });
    const bad = { ...recorded("OrderShipped", { trackingCode: 5 }, 7), aggregateType: "order" };
    expect(() => Order.parseEvent(bad)).toThrow(EventValidationError);
    expect(() => Order.parseEvent(bad)).toThrow(/at version 7/);
    const unknown = { ...recorded("OrderLost", {}, 3), aggregateType: "order" };
    expect(() => Order.parseEvent(unknown)).toThrow(/declares no event type "OrderLost"/);
    const Lenient = defineAggregate({
      type: "order",
      events: Order.schemas,
      initialState: Order.initialState,
      evolve: Order.reducers,
      ignoreUnknownEvents: true,
    });
    expect(Lenient.parseEvent(unknown)).toBeUndefined();
  });

  it("takes any initial state without snapshots, and asks for JSON states with them", () => {
    const definition = (snapshotEvery?: number) =>
      defineAggregate({
        type: "big",
        events: { Grown: z.object({ by: z.number().int() }) },
        initialState: { size: 0n },
        evolve: { Grown: (draft, data) => void (draft.size += BigInt(data.by)) },
        ...(snapshotEvery === undefined ? {} : { snapshotEvery }),
      });
    expect(definition().fold([recorded("Grown", { by: 2 })])).toEqual({ size: 2n });
    expect(() => definition(10)).toThrow(InvalidArgumentError);
    expect(() => definition(10)).toThrow(/keeps snapshots \(snapshotEvery\), so its states must be JSON: big initialState\.size/);
  });

  it("keys snapshots by everything their meaning depends on", () => {
    const counter = { type: "counter", events: Counter.schemas, initialState: Counter.initialState, evolve: Counter.reducers, snapshotEvery: 10 } as const;
    const first = defineAggregate(counter);
    const same = defineAggregate(counter);
    const bumped = defineAggregate({ ...counter, snapshotVersion: 1 });
    const otherSchema = defineAggregate({ ...counter, events: { ...Counter.schemas, Added: z.object({ amount: z.number() }) } });
    expect(same.snapshotKey).toBe(first.snapshotKey);
    expect(bumped.snapshotKey).not.toBe(first.snapshotKey);
    expect(otherSchema.snapshotKey).not.toBe(first.snapshotKey);
  });
});
