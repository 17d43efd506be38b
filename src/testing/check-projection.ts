import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import type { AnyAggregate } from "../aggregates/define-aggregate.js";
import type { Projection } from "../projections/define-projection.js";
import type { RecordedEvent } from "../log/events.js";
import { assertJson } from "../json.js";
import { type ArbitraryOptions, arbitraryEvent, syntheticEvent, syntheticPosition } from "./arbitraries.js";

/** Options of {@link checkProjection}. */
export interface CheckProjectionOptions extends ArbitraryOptions {
  /** Histories generated; default 100. */
  readonly numRuns?: number;
  /** The longest generated history; default 40. */
  readonly maxLength?: number;
  /** How many streams per aggregate the events are spread over; default 3. */
  readonly streams?: number;
  /** Seed, to replay a failure. */
  readonly seed?: number;
}

/**
 * Checks, with fast-check, that a projection gives the same states however its events are cut into
 * batches: folding a history in random batches, with every state going through JSON between them
 * (as the projection table stores it), equals folding it from scratch. Throws with a shrunk
 * counterexample.
 *
 * @example
 * ```ts
 * import { checkProjection } from "meowmx/testing";
 * import { CustomerTotals } from "./customer-totals.js";
 * checkProjection(CustomerTotals);
 * ```
 */
export function checkProjection<S>(projection: Projection<any, S>, options: CheckProjectionOptions = {}): void {
  const streams = options.streams ?? 3;
  const event: fc.Arbitrary<RecordedEvent> = fc.oneof(
    ...(projection.from as ReadonlyArray<AnyAggregate>).map((aggregate) =>
      fc.tuple(arbitraryEvent(aggregate, options), fc.integer({ min: 1, max: streams })).map(([generated, stream]) => ({
        ...generated,
        aggregateId: `${aggregate.type}-${stream}`,
      })),
    ),
  );
  const histories = fc
    .array(event, { maxLength: options.maxLength ?? 40 })
    .map((events) => numbered(events));
  const cuts = fc.array(fc.nat(), { maxLength: 6 });
  try {
    fc.assert(
      fc.property(histories, cuts, (events, cutAt) => {
        const whole = projection.fold(events);
        let states = new Map<string, S>();
        for (const batch of batches(events, cutAt)) {
          states = projection.fold(batch, roundTrip(states));
        }
        for (const [key, state] of whole) assertJson(state, `the state of key ${JSON.stringify(key)}`);
        if (!isDeepStrictEqual(Object.fromEntries(roundTrip(states)), Object.fromEntries(roundTrip(whole)))) {
          throw new Error("folding in batches gave other states than folding from scratch");
        }
      }),
      { numRuns: options.numRuns ?? 100, ...(options.seed === undefined ? {} : { seed: options.seed }) },
    );
  } catch (error) {
    const reason = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    throw new Error(`checkProjection(${projection.name}): batches must fold like the whole history${reason}\n${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** Gives each stream's events consecutive versions and the history consecutive positions. */
function numbered(events: ReadonlyArray<RecordedEvent>): RecordedEvent[] {
  const versions = new Map<string, number>();
  return events.map((event, i) => {
    const stream = `${event.aggregateType}/${event.aggregateId}`;
    const version = (versions.get(stream) ?? 0) + 1;
    versions.set(stream, version);
    return { ...syntheticEvent(event.aggregateType, event.aggregateId, version, event.type, event.data), position: syntheticPosition(i + 1) };
  });
}

function batches<T>(items: ReadonlyArray<T>, cutAt: ReadonlyArray<number>): T[][] {
  const cuts = [...new Set(cutAt.map((n) => n % (items.length + 1)))].sort((a, b) => a - b);
  const result: T[][] = [];
  let start = 0;
  for (const cut of [...cuts, items.length]) {
    result.push(items.slice(start, cut));
    start = cut;
  }
  return result;
}

/** States as the projection table gives them back: through JSON. */
function roundTrip<S>(states: ReadonlyMap<string, S>): Map<string, S> {
  return new Map([...states].map(([key, state]) => [key, JSON.parse(JSON.stringify(state)) as S]));
}
