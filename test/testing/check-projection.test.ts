import { checkProjection } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { defineProjection } from "../../src/index.js";
import { CustomerTotals, Order, Refund } from "../support/aggregates.js";

describe("checkProjection", () => {
  it("passes for a projection that folds the same in any batches", () => {
    checkProjection(CustomerTotals);
  });

  it("catches a state that JSON cannot carry between batches", () => {
    const Dated = defineProjection({
      name: "dated",
      from: [Order],
      initialState: { at: null as Date | null },
      evolve: { order: { OrderCreated: (draft) => void (draft.at = new Date(0)) } },
    });
    expect(() => checkProjection(Dated)).toThrow(/checkProjection\(dated\)[\s\S]*\.at is a Date/);
  });

  it("catches reducers that depend on more than the state and the event", () => {
    let calls = 0;
    const Counting = defineProjection({
      name: "counting",
      from: [Order, Refund],
      key: () => "all",
      initialState: { seen: 0 },
      evolve: { refund: { Refunded: (draft) => void (draft.seen = ++calls) } },
    });
    expect(() => checkProjection(Counting)).toThrow(/batches must fold like the whole history[\s\S]*Counterexample/);
  });

  it("catches a number that JSON cannot carry", () => {
    const Infinite = defineProjection({
      name: "infinite",
      from: [Order],
      key: () => "all",
      initialState: { ratio: 0 },
      evolve: { order: { OrderCreated: (draft, data) => void (draft.ratio = (data.total + 1) / 0) } },
    });
    expect(() => checkProjection(Infinite)).toThrow(/checkProjection\(infinite\)[\s\S]*is Infinity/);
  });
});
