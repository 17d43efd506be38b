import { freeze } from "immer";
import type {
  Aggregate,
  AggregateEvent,
  AggregateNewEvent,
  EventSchemas,
} from "../aggregates/define-aggregate.js";
import { DRAFTS_NEEDED } from "../aggregates/fold.js";
import { ConcurrencyError, StreamNotFoundError, StreamTruncatedError } from "../errors.js";
import type { RecordedEvent } from "../log/events.js";
import { assertJson, type JsonObject } from "../json.js";
import { assertMaxAttempts, backoffDelay, sleep } from "../retry.js";
import { type Command, eventsOf } from "./command.js";
import type { LeftByCommand } from "../scope/keyed-queue.js";
import type { Scope } from "../scope/scope.js";
import type { SnapshotStore } from "../tables/snapshots.js";

/** How many times `update` runs its function by default before giving up on conflicts. */
export const DEFAULT_MAX_ATTEMPTS = 10;

/** A stream's state as loaded. */
export interface Loaded<S> {
  readonly state: S;
  /** How many events the stream holds (0 when it is empty). */
  readonly version: number;
}

/** What `create` and `update` settle to. */
export interface UpdateResult<S, Ev> extends Loaded<S> {
  /** The events this call appended (none when the function returned nothing). */
  readonly events: Ev[];
  /** How many times the function ran. */
  readonly attempts: number;
}

/** What an update leaves for the next command of its queue: the stream as it left it, and its result. */
interface Held<S, Ev> extends LeftByCommand {
  readonly state: S;
  readonly result: UpdateResult<S, Ev>;
}


/** Options of `update`. */
export interface UpdateOptions {
  /** How many times the function may run when other writers keep winning; default {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
  /** Stored on every appended event (each event's own metadata wins on a clash), e.g. correlationId. */
  readonly metadata?: JsonObject;
}

/**
 * Loads aggregates and runs commands against them with optimistic concurrency and automatic retry.
 *
 * @example
 * ```ts
 * import { connect } from "meowmx";
 * import { Order } from "./order.js";
 * const store = await connect();
 * const orders = store.repository(Order);
 * await orders.create("o-1", () => Order.events.OrderCreated({ customerId: "c-1", total: 10 }));
 * const { state, attempts } = await orders.update("o-1", (order) => {
 *   if (order.status !== "created") throw new Error("cannot ship");
 *   return Order.events.OrderShipped({ trackingCode: "X1" });
 * });
 * ```
 */
export class Repository<T extends string, E extends EventSchemas, S> {
  constructor(
    private readonly aggregate: Aggregate<T, E, S>,
    private readonly scope: Scope,
  ) {}

  /** The stream's state and version, from the latest snapshot (when the aggregate has them) and the events after it. */
  load(aggregateId: string): Promise<Loaded<S>> {
    return this.scope.telemetry.span("meowmx.load", this.spanAttributes("load", aggregateId), async () => {
      const { state, version } = await this.loadWithSnapshot(aggregateId);
      return { state, version };
    });
  }

  /** Like {@link load}, for a stream that must exist: a {@link StreamNotFoundError} when it is empty. */
  async get(aggregateId: string): Promise<Loaded<S>> {
    const loaded = await this.load(aggregateId);
    if (loaded.version === 0) throw new StreamNotFoundError(this.aggregate.type, aggregateId);
    return loaded;
  }

  /** Runs `command` on a stream that must not exist yet; a ConcurrencyError when it does. */
  async create(aggregateId: string, command: Command<S, AggregateNewEvent<E>>, options: Omit<UpdateOptions, "maxAttempts"> = {}): Promise<UpdateResult<S, AggregateEvent<E>>> {
    const initial = { state: this.aggregate.initialState, version: 0, snapshotVersion: 0 };
    const outcome = await this.attempt(aggregateId, initial, command, options.metadata);
    return { ...outcome.result, attempts: 1 };
  }

  /**
   * Loads the stream, runs `command` on its state and appends what it returns at the version it
   * loaded. When another writer got there first, it reads the events it missed, runs `command` again
   * on the newer state (after a jittered backoff), up to `maxAttempts` times; then it throws the last
   * ConcurrencyError. Errors thrown by `command` pass through at once. `command` may run more than
   * once, so it must be pure. Updates of one stream through the same store run one after another, so
   * they never conflict with each other: only writers elsewhere cause retries.
   */
  async update(aggregateId: string, command: Command<S, AggregateNewEvent<E>>, options: UpdateOptions = {}): Promise<UpdateResult<S, AggregateEvent<E>>> {
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertMaxAttempts(maxAttempts);
    return this.scope.telemetry.span("meowmx.update", this.spanAttributes("update", aggregateId), async (span) => {
      const queue = this.scope.queue;
      const { result } =
        queue === undefined
          ? await this.updateWithRetries(aggregateId, command, options.metadata, maxAttempts, undefined)
          : await queue.run(`${this.aggregate.type}\u0000${aggregateId}`, (previous) =>
              this.updateWithRetries(aggregateId, command, options.metadata, maxAttempts, previous),
            );
      span?.setAttribute("meowmx.attempts", result.attempts);
      return result;
    });
  }

  private spanAttributes(operation: string, aggregateId: string) {
    return { "db.operation.name": operation, "meowmx.aggregate_type": this.aggregate.type, "meowmx.aggregate_id": String(aggregateId) };
  }

  /**
   * Runs the command with retries, from what the previous command of the queue left (when it was
   * this aggregate's), or from a fresh load. A state left by the previous command is used as it is:
   * if another process wrote since, the append's version check fails and the retry catches up.
   */
  private async updateWithRetries(
    aggregateId: string,
    command: Command<S, AggregateNewEvent<E>>,
    metadata: JsonObject | undefined,
    maxAttempts: number,
    previous: LeftByCommand | undefined,
  ): Promise<Held<S, AggregateEvent<E>>> {
    // A state is reused only under the definition that folded it: then it is this aggregate's S.
    const reused = previous?.aggregate === this.aggregate ? previous : undefined;
    let current =
      reused !== undefined ? { state: reused.state as S, version: reused.version, snapshotVersion: reused.snapshotVersion } : await this.loadWithSnapshot(aggregateId);
    let unchecked = reused !== undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.attempt(aggregateId, current, command, metadata);
        if (unchecked && outcome.result.events.length === 0) {
          // Writing nothing checks no version: make sure the state the command saw was current.
          unchecked = false;
          const fresh = await this.catchUp(this.scope, aggregateId, current);
          if (fresh.version !== current.version) {
            current = { ...fresh, snapshotVersion: current.snapshotVersion };
            attempt--;
            continue;
          }
        }
        const result = { ...outcome.result, attempts: attempt };
        return { aggregate: this.aggregate, state: result.state, version: result.version, snapshotVersion: outcome.snapshotVersion, result };
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || error.needsNewTransaction || attempt >= maxAttempts) throw error;
        await sleep(backoffDelay(attempt));
        current = { ...(await this.catchUp(this.scope, aggregateId, current)), snapshotVersion: current.snapshotVersion };
      }
    }
  }

  private async attempt(
    aggregateId: string,
    current: Loaded<S> & { snapshotVersion: number },
    command: Command<S, AggregateNewEvent<E>>,
    metadata: JsonObject | undefined,
  ): Promise<{ result: Omit<UpdateResult<S, AggregateEvent<E>>, "attempts">; snapshotVersion: number }> {
    const produced = eventsOf(await command(current.state));
    if (produced.length === 0) return { result: { state: current.state, version: current.version, events: [] }, snapshotVersion: current.snapshotVersion };
    const events = produced.map((event) => {
      const parsed = this.aggregate.parseNewEvent(event);
      return metadata === undefined ? parsed : { ...parsed, metadata: { ...metadata, ...parsed.metadata } };
    });
    const type = this.aggregate.type;
    const every = this.aggregate.snapshotEvery;
    const snapshotDue = every !== undefined && current.version + events.length - current.snapshotVersion >= every;
    // Stored with their personal fields sealed; folded as they are.
    const sealed = await this.scope.personalData.seal(this.scope.db, this.aggregate, aggregateId, events);
    const write = async (scope: Scope, snapshots?: SnapshotStore) => {
      const { version, events: recorded } = await scope.log.append(type, aggregateId, sealed, { expectedVersion: current.version });
      // The events were validated above: fold the stored copies with their parsed data.
      const typed = recorded.map((event, i) => ({ ...event, data: events[i]!.data }) as AggregateEvent<E>);
      // A retried command whose events carry ids may find them stored already, at earlier versions or
      // followed by other writers' events: then they are not folded again, the stream is read instead.
      const follows = recorded[0]!.version === current.version + 1 && version === current.version + recorded.length;
      const loaded = follows ? { state: this.aggregate.fold(typed, current.state), version } : await this.catchUp(scope, aggregateId, current);
      if (snapshots !== undefined) await this.writeSnapshot(snapshots, aggregateId, loaded.version, loaded.state);
      return { ...loaded, events: typed };
    };
    const result = await (snapshotDue ? this.scope.transaction((tx) => write(tx, tx.snapshots)) : write(this.scope));
    return { result, snapshotVersion: snapshotDue ? result.version : current.snapshotVersion };
  }

  private async writeSnapshot(snapshots: SnapshotStore, aggregateId: string, version: number, state: S): Promise<void> {
    try {
      assertJson(state, `${this.aggregate.type} state`);
    } catch (error) {
      this.scope.logger.warn(`no snapshot of ${this.aggregate.type}/${aggregateId}: the state is not JSON`, { error });
      return;
    }
    await snapshots.write(this.aggregate.type, aggregateId, version, this.aggregate.snapshotKey, state);
  }

  private async loadWithSnapshot(aggregateId: string): Promise<Loaded<S> & { snapshotVersion: number }> {
    const snapshot =
      this.aggregate.snapshotEvery === undefined
        ? undefined
        : await this.scope.snapshots.read(this.aggregate.type, aggregateId, this.aggregate.snapshotKey);
    const start = snapshot === undefined ? { state: this.aggregate.initialState, version: 0 } : { state: freeze(snapshot.state as S, true), version: snapshot.version };
    const caughtUp = await this.catchUp(this.scope, aggregateId, start, snapshot?.truncatedBefore);
    return { ...caughtUp, snapshotVersion: start.version };
  }

  /**
   * The state after the events that follow `from.version`, read and validated; a
   * {@link StreamTruncatedError} when some of those events were truncated away. When none follow,
   * where the stream was truncated tells (read now unless given).
   */
  private async catchUp(
    scope: Scope,
    aggregateId: string,
    from: Loaded<S>,
    /** Where the stream was truncated, when already read (null: never); undefined: to be read if needed. */
    truncation?: number | null,
  ): Promise<Loaded<S>> {
    const { type, readsRecordedEvents } = this.aggregate;
    const { log } = scope;
    const stored: ReadonlyArray<RecordedEvent> = readsRecordedEvents
      ? await log.load(type, aggregateId, { fromVersion: from.version + 1 })
      : // No reducer takes the recorded event: what it would carry beyond these fields goes unread.
        ((await log.loadData(type, aggregateId, from.version + 1)) as RecordedEvent[]);
    const first = stored[0]?.version ?? (truncation === undefined ? await log.truncatedBefore(type, aggregateId) : (truncation ?? undefined));
    // Events missing between the state and what is stored were truncated away: folding on would give a wrong state.
    if (first !== undefined && first > from.version + 1) throw new StreamTruncatedError(type, aggregateId, first, from.version);
    if (stored.length === 0) return from;
    const revealed = await scope.reveal(stored, [this.aggregate]);
    const parsed: AggregateEvent<E>[] = [];
    for (const event of revealed) {
      const typed = this.aggregate.parseEvent(event);
      if (typed !== undefined) parsed.push(typed);
    }
    const state = this.aggregate.replay(parsed, from.state);
    // A reducer called immer's functions on its draft: read the events again, to be folded with drafts.
    if (state === DRAFTS_NEEDED) return this.catchUp(scope, aggregateId, from, truncation);
    return { state, version: stored.at(-1)!.version };
  }
}
