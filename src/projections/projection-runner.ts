import type { Kysely, SelectQueryBuilder } from "kysely";
import { InvalidArgumentError } from "../errors.js";
import { assertWholeNumber } from "../arguments.js";
import type { RecordedEvent } from "../log/events.js";
import type { Scope } from "../scope/scope.js";
import type { Subscription } from "../subscriptions/subscription.js";
import type { SubscriptionConfig, SubscriptionOptions } from "../subscriptions/subscription-config.js";
import type { ProjectionEvent } from "../aggregates/define-aggregate.js";
import type { Projection } from "./define-projection.js";
import { foldChanges } from "./fold-changes.js";

/** Progress of a rebuild, reported every {@link PROGRESS_EVERY} events and at the end. */
export interface RebuildProgress {
  /** Events read so far. */
  readonly events: number;
  /** The position of the last of them. */
  readonly position: string;
}

/** What a rebuild did. */
export interface RebuildResult {
  readonly events: number;
  readonly keys: number;
  readonly position: string;
}

/** How a rebuild runs. */
export interface RebuildOptions {
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Events read, folded and written at a time; what a rebuild holds in memory. Default 5,000. */
  readonly batchSize?: number;
}

/** How often a rebuild reports progress, in events. */
export const PROGRESS_EVERY = 1000;

const REBUILD_BATCH = 5000;

/** Options of a projection's worker (what `subscribe` takes, less the name and handler). */
export type ProjectionWorkerOptions = Omit<SubscriptionOptions, "name" | "partitions" | "startFrom" | "eventTypes">;

/** What a projection runner needs from its store besides the scope: how it runs. */
export interface ProjectionHosting<Tx> {
  /** Whether the store folds this projection inside every append (then it has no worker). */
  readonly inline: boolean;
  subscribe(config: SubscriptionConfig<Tx>): Subscription<Tx>;
}

/**
 * A projection in a store: its states, its worker (a subscription named `projection:<name>`), and
 * rebuilds.
 */
export class ProjectionRunner<S, Tx extends { db: Kysely<any> }> {
  private subscription: Subscription<Tx> | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    readonly projection: Projection<any, S>,
    private readonly scope: Scope<Tx>,
    private readonly hosting: ProjectionHosting<Tx>,
  ) {}

  /** The name of the subscription that runs it. */
  get subscriptionName(): string {
    return `projection:${this.projection.name}`;
  }

  /**
   * Runs the projection as a subscription, with that subscription's guarantees; states are written
   * in the checkpoint's transaction. When the stored states were built by another `version` of the
   * definition, it rebuilds them first.
   */
  start(options: ProjectionWorkerOptions = {}): this {
    if (this.hosting.inline) throw new InvalidArgumentError(`projection ${this.projection.name} runs inline in this store; it has no worker`);
    if (this.starting !== undefined) return this;
    const starting = this.rebuildIfOutdated().then(() => {
      // Stopped while it was rebuilding: it stays stopped.
      if (this.starting !== starting) return;
      this.subscription = this.hosting.subscribe({
        ...options,
        name: this.subscriptionName,
        aggregateTypes: this.projection.aggregateTypes,
        handleBatch: (events, tx) => this.handle(events, tx),
      });
    });
    // Told to the logger at once, and to whoever awaits caughtUp(); never an unhandled rejection.
    starting.catch((error: unknown) => this.scope.logger.error(`projection ${this.projection.name} could not start: ${String(error)}`, { error }));
    this.starting = starting;
    return this;
  }

  /** Resolves once everything committed before the call is in the states; `timeoutMs` as for subscriptions. */
  async caughtUp(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.starting === undefined) throw new InvalidArgumentError(`projection ${this.projection.name} was not started`);
    await this.starting;
    await this.subscription!.caughtUp(options);
  }

  /** Stops the worker (the states stay); `start()` runs it again. */
  async stop(): Promise<void> {
    const { starting, subscription } = this;
    this.starting = undefined;
    this.subscription = undefined;
    // A start still rebuilding makes no subscription once it sees it was stopped.
    await starting?.catch(() => undefined);
    await subscription?.stop();
  }

  /** The state of `key`, or undefined when it has none. */
  async get(key: string): Promise<S | undefined> {
    return (await this.scope.tables.projectionStates.load<S>(this.scope.db, this.projection.name, [key])).get(key);
  }

  /** Every key that has a state, in order. */
  keys(): Promise<string[]> {
    return this.scope.tables.projectionStates.keys(this.scope.db, this.projection.name);
  }

  /**
   * A Kysely query over this projection's rows of `projection_states` (columns key, state,
   * position, updated_at), to filter and sort as needed.
   */
  query(): SelectQueryBuilder<any, "projection_states", {}> {
    return this.scope.tables.projectionStates.query(this.scope.db, this.projection.name);
  }

  /**
   * Builds every state again from the first event, a batch at a time into rows of its own (its
   * memory stays that of one batch), then swaps them in within one transaction: readers see the old
   * states or the new ones, never a mix. A worker of the projection pauses during the swap and goes
   * on from the rebuilt position. Rebuilds of one projection running at once each build their own
   * rows; their swaps take turns.
   */
  rebuild(options: RebuildOptions = {}): Promise<RebuildResult> {
    return this.scope.telemetry.span("meowmx.rebuild", { "meowmx.projection": this.projection.name }, async (span) => {
      const result = await this.rebuildAll(options);
      span?.setAttribute("meowmx.event_count", result.events);
      return result;
    });
  }

  /** {@link rebuild}, inside its span. */
  private async rebuildAll(options: RebuildOptions): Promise<RebuildResult> {
    const { projection, scope } = this;
    const { inline } = this.hosting;
    const { rebuilds, checkpoints, projectionStates, projectionVersions } = scope.tables;
    const limit = options.batchSize ?? REBUILD_BATCH;
    assertWholeNumber(limit, "batchSize", 1);
    const aggregateTypes = projection.aggregateTypes;
    const id = await rebuilds.begin(scope.db, projection.name);
    let events = 0;
    let position = "";
    // One page: one read of the rebuild's states it touches, one write.
    const foldPage = async (db: Kysely<any>, stored: ReadonlyArray<RecordedEvent>) => {
      const parsed: ProjectionEvent<any>[] = [];
      for (const event of await scope.reveal(stored, projection.from, db)) {
        const folded = projection.parse(event);
        if (folded !== undefined) parsed.push(folded);
        events++;
        position = event.position;
        if (events % PROGRESS_EVERY === 0) options.onProgress?.({ events, position });
      }
      if (parsed.length > 0) {
        const current = await rebuilds.states.load<S>(db, id, parsed.map((event) => projection.keyOf(event)));
        await rebuilds.states.write(db, id, foldChanges(projection, parsed, current));
      }
      await rebuilds.heartbeat(db, id, projection.name);
    };
    // Every page after the last one folded, until a read finds none; or, while writers go on (before
    // the swap's locks), until a page comes back short: writers committing every millisecond would
    // leave a read that finds none to chance, and the swap's transaction folds what is left.
    const foldRest = async (db: Kysely<any>, read: (after: string) => Promise<RecordedEvent[]>, { catchingUp = false } = {}) => {
      for (let page = await read(position); page.length > 0; page = await read(position)) {
        await foldPage(db, page);
        if (catchingUp && page.length < limit) return;
      }
    };
    try {
      await foldRest(scope.db, (after) => scope.readEvents({ aggregateTypes, after, limit }), { catchingUp: true });
      const keys = await scope.transaction(async ({ db, log }) => {
        await projectionStates.lockForRebuild(db, projection.name);
        if (!inline) {
          // The partition first: a worker holding it updates the checkpoint row before it lets go.
          await checkpoints.lock(db, this.subscriptionName, 0);
          await checkpoints.ensure(db, this.subscriptionName, 1, aggregateTypes, { retarget: true });
        }
        // Inline writers are locked out now, so every committed event counts; a worker's events
        // are only those its checkpoint may pass.
        await foldRest(db, (after) => log.read({ aggregateTypes, after, limit }, { settledOnly: !inline }));
        const keys = await rebuilds.swapIn(db, id, projection.name);
        if (!inline) await checkpoints.moveTo(db, this.subscriptionName, 0, position);
        await projectionVersions.rebuilt(db, projection.name, projection.version);
        return keys;
      });
      options.onProgress?.({ events, position });
      return { events, keys, position };
    } catch (error) {
      await rebuilds.discard(scope.db, id).catch((cleanup: unknown) => scope.logger.warn(`could not remove a failed rebuild's rows: ${String(cleanup)}`));
      throw error;
    }
  }

  /** Rebuilds when the states were built by another version of the definition; records the version otherwise. */
  async rebuildIfOutdated(): Promise<void> {
    const { projection, scope } = this;
    const { projectionVersions, projectionStates } = scope.tables;
    const stored = await projectionVersions.stored(scope.db, projection.name);
    if (stored === projection.version) return;
    if (stored !== undefined && stored > projection.version) {
      // An older release, still running or restarted during a rolling deploy, must not rebuild the
      // states with its older reducers, nor write them.
      throw new InvalidArgumentError(
        `projection ${projection.name}: its states were built by version ${stored} of its definition, and this is version ${projection.version}. ` +
          "Run the newer code, or rebuild() with this one on purpose (meowmx rebuild) to go back",
      );
    }
    if (stored !== undefined || (await projectionStates.any(scope.db, projection.name))) {
      await this.rebuild();
      return;
    }
    await projectionVersions.adopt(scope.db, projection.name, projection.version);
  }

  /** Folds a batch into the states it touches: one read of them, one write, in the batch's transaction. */
  private async handle(stored: ReadonlyArray<RecordedEvent>, tx: Tx): Promise<void> {
    const events = await this.scope.reveal(stored, this.projection.from, tx.db);
    const parsed = events.flatMap((event) => this.projection.parse(event) ?? []);
    if (parsed.length === 0) return;
    const states = this.scope.tables.projectionStates;
    const current = await states.load<S>(tx.db, this.projection.name, parsed.map((event) => this.projection.keyOf(event)));
    await states.write(tx.db, this.projection.name, foldChanges(this.projection, parsed, current));
  }

}
