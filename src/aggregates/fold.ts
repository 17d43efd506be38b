import { type Draft, produce } from "immer";

/** Applies one event to a draft; may mutate the draft or return a whole new state. */
export type Step<S, E> = (draft: Draft<S>, event: E) => S | void;

const RESTART = Symbol("restart");

/**
 * Folds `events` into `state` with as few immer `produce` calls as it can: one for a run of steps
 * that mutate the draft. A step that returns a new state must start a `produce` of its own (immer
 * refuses a recipe that both mutates and returns), so when one turns up mid-run, the run stops
 * before it and is applied again without it; steps are pure, so running them again is harmless.
 */
export function foldWithImmer<S, E>(state: S, events: ReadonlyArray<E>, step: Step<S, E>): S {
  let current = state;
  let start = 0;
  while (start < events.length) {
    let end = events.length;
    let replacedFirst = false;
    try {
      current = produce(current, (draft: Draft<S>) => {
        for (let i = start; i < end; i++) {
          const returned = step(draft, events[i]!);
          if (returned === undefined || returned === draft) continue;
          if (i > start) {
            end = i;
            throw RESTART;
          }
          replacedFirst = true;
          return returned as never;
        }
        return undefined;
      }) as S;
      start = replacedFirst ? start + 1 : end;
    } catch (error) {
      if (error !== RESTART) throw error;
      const stop = end;
      current = produce(current, (draft: Draft<S>) => {
        for (let i = start; i < stop; i++) step(draft, events[i]!);
      }) as S;
      start = stop;
    }
  }
  return current;
}
