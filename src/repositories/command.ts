/** What a command returns: one event, several, or nothing. */
export type CommandResult<N> = N | ReadonlyArray<N> | void | undefined;

/** A command: given the current state, the events to append (one, several or none), now or as a promise (any thenable). */
export type Command<S, N> = (state: S) => CommandResult<N> | PromiseLike<CommandResult<N>>;

/** Whether a command's result is to be awaited: a promise, or any other object with a `then` method. */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** The events of a command's (awaited) result, as a list. */
export function eventsOf<N>(result: CommandResult<N>): N[] {
  return result === undefined ? [] : Array.isArray(result) ? [...(result as ReadonlyArray<N>)] : [result as N];
}
