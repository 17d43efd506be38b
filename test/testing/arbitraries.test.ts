import fc from "fast-check";
import { arbitraryEvent, arbitraryEventData, arbitraryEvents, UnsupportedSchemaError } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Order } from "../support/aggregates.js";

enum Color {
  Red = "red",
  Green = 2,
}

const Tree: z.ZodType<{ name: string; children: unknown[] }> = z.lazy(() => z.object({ name: z.string(), children: z.array(Tree) }));

const schemas: Record<string, z.ZodType> = {
  strictObject: z.strictObject({ a: z.string(), b: z.number() }),
  looseObject: z.looseObject({ a: z.string() }),
  strings: z.object({
    bounded: z.string().min(2).max(5),
    exact: z.string().length(4),
    pattern: z.string().regex(/^[A-Z]{2}-\d{3}$/),
    uuid: z.uuid(),
    email: z.email(),
    emailCheck: z.string().email(),
    url: z.url(),
    datetime: z.iso.datetime(),
    date: z.iso.date(),
  }),
  numbers: z.object({
    int: z.number().int().min(-5).max(5),
    zint: z.int(),
    positive: z.number().positive(),
    nonnegative: z.number().nonnegative().max(10),
    step: z.number().multipleOf(0.25).min(0).max(10),
    exclusive: z.number().gt(1).lt(2),
  }),
  scalars: z.tuple([z.boolean(), z.literal("x"), z.enum(["a", "b"]), z.nativeEnum(Color), z.null()]),
  unions: z.object({
    union: z.union([z.string(), z.number()]),
    tagged: z.discriminatedUnion("kind", [z.object({ kind: z.literal("a"), n: z.number() }), z.object({ kind: z.literal("b") })]),
  }),
  containers: z.object({
    list: z.array(z.string()).min(1).max(3),
    record: z.record(z.string(), z.number()),
    byEnum: z.record(z.enum(["x", "y"]), z.boolean()),
    rest: z.tuple([z.string()]).rest(z.number()),
  }),
  modifiers: z.object({
    optional: z.string().optional(),
    nullable: z.number().nullable(),
    withDefault: z.string().default("d"),
    readonly: z.object({ r: z.string() }).readonly(),
  }),
  lazy: Tree,
  refined: z.number().int().min(0).max(100).refine((n) => n % 2 === 0),
};

describe("arbitraries derived from zod schemas", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it(`generate only values that pass: ${name}`, () => {
      fc.assert(
        fc.property(arbitraryEventData(schema), (value) => {
          expect(schema.safeParse(value).success).toBe(true);
          expect(JSON.parse(JSON.stringify(value))).toEqual(value);
        }),
        { numRuns: 200 },
      );
    });
  }

  it("bound the depth of recursive schemas", () => {
    const depth = (tree: { children: unknown[] }): number => 1 + Math.max(0, ...tree.children.map((child) => depth(child as never)));
    fc.assert(fc.property(arbitraryEventData(Tree, { maxDepth: 2 }), (tree) => depth(tree) <= 3));
  });

  it("apply defaults as parsing does", () => {
    fc.assert(fc.property(arbitraryEventData(schemas.modifiers!), (value) => typeof (value as { withDefault: unknown }).withDefault === "string"));
  });

  it("name the path and zod type of what they cannot generate", () => {
    const error = (() => {
      try {
        arbitraryEventData(z.object({ nested: z.object({ when: z.date() }) }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnsupportedSchemaError);
    expect(error).toMatchObject({ path: "data.nested.when", zodType: "date" });
    expect(() => arbitraryEventData(z.object({ n: z.bigint() }))).toThrow(/data\.n: JSON has no bigint/);
  });

  it("say so when a refinement rejects nearly everything", () => {
    const picky = z.string().refine((s) => s === "the one string");
    expect(() => fc.sample(arbitraryEventData(picky), 5)).toThrow(/rejected 1000 generated values in a row/);
  });

  it("make events and histories of an aggregate", () => {
    fc.assert(
      fc.property(arbitraryEvent(Order), (event) => {
        expect(Order.parseEvent(event)).toEqual(event);
      }),
    );
    fc.assert(
      fc.property(arbitraryEvents(Order, { maxLength: 10, aggregateId: "o-9" }), (events) => {
        expect(events.length).toBeLessThanOrEqual(10);
        expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
        expect(events.every((e) => e.aggregateId === "o-9" && e.aggregateType === "order")).toBe(true);
      }),
    );
  });
});
