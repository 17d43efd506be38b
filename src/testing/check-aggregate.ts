import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import type { Aggregate, AggregateEvent, EventSchemas } from "../aggregates/define-aggregate.js";
import { DRAFTS_NEEDED } from "../aggregates/fold.js";
import { assertJson } from "../json.js";
import { type ArbitraryOptions, arbitraryEvents } from "./arbitraries.js";
import { checkUpcasters } from "./check-upcasters.js";

/** Options of {@link checkAggregate}. */
export interface CheckAggregateOptions extends ArbitraryOptions {
  /** Event types whose reducers may throw on some states (a domain rule); default none. */
  readonly mayThrow?: ReadonlyArray<string>;
  /** Histories generated per property; default 100. */
  readonly numRuns?: number;
  /** The longest generated history; default 30. */
  readonly maxLength?: number;
  /** Seed, to replay a failure. */
  readonly seed?: number;
}

/**
 * Checks the laws every aggregate must keep, with fast-check, and throws with a shrunk counterexample
 * when one fails: evolve is deterministic and never mutates its input, accepts every schema-valid
 * event in every reachable state (unless `mayThrow` names its type), every reachable state survives a
 * JSON round trip (so snapshots are safe), folding a history equals folding its two halves in turn,
 * and a load's replay of it gives the state folding gives; with upcasters, {@link checkUpcasters} too.
 *
 * @example
 * ```ts
 * import { checkAggregate } from "meowmx/testing";
 * import { Order } from "./order.js";
 * checkAggregate(Order);
 * ```
 */
export function checkAggregate<T extends string, E extends EventSchemas, S>(aggregate: Aggregate<T, E, S>, options: CheckAggregateOptions = {}): void {
  const mayThrow = new Set(options.mayThrow ?? []);
  const histories = arbitraryEvents(aggregate, { maxLength: options.maxLength ?? 30, ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }) });
  const parameters = { numRuns: options.numRuns ?? 100, ...(options.seed === undefined ? {} : { seed: options.seed }) };

  // Folds as far as the reducers allow: a throw from a type in mayThrow ends the history there.
  const reachable = (events: AggregateEvent<E>[]): { states: S[]; applied: AggregateEvent<E>[] } => {
    const states = [aggregate.initialState];
    const applied: AggregateEvent<E>[] = [];
    for (const event of events) {
      try {
        states.push(aggregate.evolve(states.at(-1)!, event));
        applied.push(event);
      } catch (error) {
        if (mayThrow.has(event.type)) break;
        throw new Error(`evolve threw on a valid ${event.type} event: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    return { states, applied };
  };

  const law = <V>(name: string, arbitrary: fc.Arbitrary<V>, property: (value: V) => void) => {
    try {
      fc.assert(fc.property(arbitrary, property), parameters);
    } catch (error) {
      const report = error instanceof Error ? error.message : String(error);
      const reason = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
      throw new Error(`checkAggregate(${aggregate.type}): ${name}${reason}\n${report}`, { cause: error });
    }
  };

  law("evolve must accept every schema-valid event in every reachable state", histories, (events) => {
    reachable(events);
  });
  law("evolve must not mutate its input", histories, (events) => {
    const { states, applied } = reachable(events);
    const copies = states.map((state) => structuredClone(state));
    aggregate.fold(applied);
    states.forEach((state, i) => {
      if (!isDeepStrictEqual(state, copies[i])) throw new Error(`the state before event ${i + 1} changed after folding`);
    });
  });
  law("evolve must be deterministic", histories, (events) => {
    const { states, applied } = reachable(events);
    const again = reachable(applied).states;
    if (!isDeepStrictEqual(states, again)) throw new Error("folding the same events twice gave different states");
  });
  law("every reachable state must survive a JSON round trip (snapshots store JSON)", histories, (events) => {
    reachable(events).states.forEach((state, i) => {
      assertJson(state, `the state after ${i} events`);
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(state)), state)) {
        throw new Error(`the state after ${i} events changes in a JSON round trip`);
      }
    });
  });
  law("folding a history must equal folding its two halves in turn", histories, (events) => {
    const { applied, states } = reachable(events);
    const half = Math.floor(applied.length / 2);
    const inTurn = aggregate.fold(applied.slice(half), aggregate.fold(applied.slice(0, half)));
    if (!isDeepStrictEqual(inTurn, states.at(-1))) throw new Error(`folding ${half} then ${applied.length - half} events differs from folding all at once`);
  });
  // Three equal histories, apart: replays change the data their states keep, and a load whose
  // reducers call immer's functions reads its events again.
  law("a load must give the state folding gives (loads replay without immer's drafts)", fc.clone(histories, 3), ([events, ...copies]) => {
    const { applied, states } = reachable(events!);
    const replay = (copy: AggregateEvent<E>[]) => aggregate.replay(copy.slice(0, applied.length));
    let replayed = replay(copies[0]!);
    // A reducer that calls immer's functions on its draft: a load reads the events again.
    if (replayed === DRAFTS_NEEDED) replayed = replay(copies[1]!);
    if (!isDeepStrictEqual(replayed, states.at(-1))) throw new Error(`replaying ${applied.length} events as a load does differs from folding them`);
  });
  if (aggregate.upcasters.any) checkUpcasters(aggregate, { ...parameters, ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }) });
}
