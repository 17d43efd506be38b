import { checkAggregate } from "meowmx/testing";
import { isDraft } from "immer";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAggregate } from "../../src/index.js";
import { Counter, Order, peekingLines } from "../support/aggregates.js";

const events = { Added: z.object({ n: z.number().int() }) };

describe("checkAggregate", () => {
  it("passes for well-behaved aggregates", () => {
    checkAggregate(Order);
    checkAggregate(Counter);
  });

  it("catches a reducer that keeps shared state", () => {
    const seen: number[] = [];
    const Leaky = defineAggregate({
      type: "leaky",
      events,
      initialState: { total: 0 },
      evolve: {
        Added: (draft, data) => {
          seen.push(data.n);
          draft.total = seen.length;
        },
      },
    });
    expect(() => checkAggregate(Leaky)).toThrow(/checkAggregate\(leaky\): evolve must be deterministic[\s\S]*Counterexample/);
  });

  it("catches a state that JSON cannot carry", () => {
    const Dated = defineAggregate({
      type: "dated",
      events,
      initialState: { at: null as Date | null },
      evolve: {
        Added: (draft) => {
          draft.at = new Date(0);
        },
      },
    });
    expect(() => checkAggregate(Dated)).toThrow(/JSON round trip[\s\S]*\.at is a Date, not a plain object/);
  });

  it("catches a reducer that throws on a valid event, unless declared", () => {
    const Strict = defineAggregate({
      type: "strict",
      events,
      initialState: { total: 0 },
      evolve: {
        Added: (draft, data) => {
          if (data.n < 0) throw new Error("negative");
          draft.total += data.n;
        },
      },
    });
    expect(() => checkAggregate(Strict)).toThrow(/must accept every schema-valid event[\s\S]*negative/);
    checkAggregate(Strict, { mayThrow: ["Added"] });
  });

  it("checks that a load's replay gives the state folding gives, and passes reducers that call immer's functions", () => {
    const Lines = peekingLines();
    checkAggregate(Lines);
    // Behaves differently without a draft: what a load would see.
    const DraftMinded = defineAggregate({
      type: "draft-minded",
      events,
      initialState: { total: 0 },
      evolve: {
        Added: (draft, data) => {
          draft.total += isDraft(draft) ? data.n : 1;
        },
      },
    });
    expect(() => checkAggregate(DraftMinded)).toThrow(/checkAggregate\(draft-minded\): a load must give the state folding gives[\s\S]*Counterexample/);
  });
});
