import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import type { Aggregate, EventSchemas } from "../aggregates/define-aggregate.js";
import { type ArbitraryOptions, arbitraryEventData, syntheticEvent } from "./arbitraries.js";

/** Options of {@link checkUpcasters}. */
export interface CheckUpcastersOptions extends ArbitraryOptions {
  /** Values generated per step; default 100. */
  readonly numRuns?: number;
  /** Seed, to replay a failure. */
  readonly seed?: number;
}

/**
 * Checks an aggregate's upcasters with fast-check, and throws with a shrunk counterexample when one
 * fails: for data generated from every step's `from` schema, lifting from that step on yields data
 * the current schema accepts (a retired type: a current event), twice the same, and leaves its input
 * as it was.
 *
 * @example
 * ```ts
 * import { checkUpcasters } from "meowmx/testing";
 * import { Order } from "./order.js";
 * checkUpcasters(Order);
 * ```
 */
export function checkUpcasters<T extends string, E extends EventSchemas, S>(aggregate: Aggregate<T, E, S>, options: CheckUpcastersOptions = {}): void {
  const parameters = { numRuns: options.numRuns ?? 100, ...(options.seed === undefined ? {} : { seed: options.seed }) };
  for (const { eventType, schemaVersion, from } of aggregate.upcasters.starts()) {
    const stored = (data: unknown) => ({ ...syntheticEvent(aggregate.type, "upcast", 1, eventType, data), schemaVersion });
    const lifting = `${aggregate.type}/${eventType}@${schemaVersion}`;
    try {
      fc.assert(
        fc.property(arbitraryEventData(from, options), (data) => {
          const before = structuredClone(data);
          const first = aggregate.parseEvent(stored(data));
          if (!isDeepStrictEqual(data, before)) throw new Error("a step changed its input");
          const second = aggregate.parseEvent(stored(structuredClone(before)));
          if (!isDeepStrictEqual(first, second)) throw new Error("lifting the same data twice gave two results: the steps are not pure");
        }),
        parameters,
      );
    } catch (error) {
      const reason = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
      throw new Error(`checkUpcasters: lifting ${lifting} failed${reason}\n${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}
