import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { SubscriptionError } from "../errors.js";
import { assertWholeNumber } from "../arguments.js";
import { needsNewTransaction } from "../database/database-errors.js";
import type { RecordedEvent } from "../log/events.js";
import type { AnyAggregate } from "../aggregates/define-aggregate.js";
import { backoffDelay, sleep } from "../retry.js";
import type { Scope } from "../scope/scope.js";
import { type Attempt, CheckpointMovedError, streamKey } from "../tables/checkpoints.js";
import type { ParkedEvent, SubscriptionStatus } from "../tables/subscription-status.js";
import { aborted, errorText, HandlerFailure, Handlers, UnattributedFailure, unattributed } from "./handlers.js";
import { replayParked } from "./parked-replay.js";
import { eventHandlerOf, type Settings, type SubscriptionConfig, withDefaults } from "./subscription-config.js";
import { WakeSignal } from "../notifications/wake-signal.js";

// How often an idle worker asks whether an open transaction holds its events back.
const HELD_BACK_CHECK_MS = 5_000;

// The first idle poll waits this long; later ones back off up to maxSleepMs.
const FIRST_IDLE_SLEEP_MS = 50;

// While an open transaction holds committed events back, nothing announces its end: polls come
// this often, backing off to HELD_BACK_MAX_POLL_MS.
const HELD_BACK_FIRST_POLL_MS = 10;
const HELD_BACK_MAX_POLL_MS = 200;

type BatchOutcome =
  | { readonly kind: "standby" }
  | { readonly kind: "handled"; readonly count: number; readonly full: boolean }
  | { readonly kind: "failed" }
  /** Rolled back for a reason that running it again cures (a deadlock, another worker's batch): not an attempt. */
  | { readonly kind: "again"; readonly delayMs: number };

interface Failure {
  readonly position: string;
  attempts: number;
  error: unknown;
}

/** What a worker keeps in memory about its partition between batches. */
interface PartitionState {
  /** The event that failed last, and how often. */
  failure: Failure | undefined;
  /**
   * Up to this position, batches shrink by half at each failure that names no event (a batch
   * handler's, or a handler that swallowed a database error), until the failing event is alone.
   */
  narrowUntil: string | undefined;
  /** Batches run again in a row because concurrent transactions rolled them back. */
  rerun: number;
  /** Events per batch: the batch size, less while concurrent transactions roll batches back. */
  limit: number;
  /** Events to take one at a time: a batch of them ended its process, and one of them did. */
  singles: number;
}

/**
 * A named, durable worker over the log. Many processes may run the same name: one handles each
 * partition at a time, the others stand by and take over when its lease runs out.
 */
export class Subscription<Tx> {
  /** This worker's name in the lease: host, process and a random part. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  private readonly config: Settings<Tx>;
  private readonly handlers: Handlers<Tx>;
  private readonly signals: WakeSignal[];
  private readonly progress = new WakeSignal();
  private readonly partitionStates: PartitionState[];
  private running = true;
  private readonly stopping = new AbortController();
  private fatal: SubscriptionError | undefined;
  private readonly started: Promise<void>;
  private readonly loops: Promise<void>;

  constructor(
    config: SubscriptionConfig<Tx, ReadonlyArray<AnyAggregate>>,
    private readonly scope: Scope<Tx>,
    private readonly onStopped: () => void,
  ) {
    this.config = withDefaults(config);
    this.signals = Array.from({ length: this.config.partitions }, () => new WakeSignal());
    // Each partition's worker waits on it at most once at a time.
    setMaxListeners(this.config.partitions + 1, this.stopping.signal);
    this.partitionStates = this.signals.map(() => ({ failure: undefined, narrowUntil: undefined, rerun: 0, limit: this.config.batchSize, singles: 0 }));
    this.handlers = new Handlers(this.config, config, scope.telemetry);
    this.started = this.startPosition().then((start) =>
      scope.tables.checkpoints.ensure(scope.db, this.config.name, this.config.partitions, this.config.aggregateTypes, { start }),
    );
    this.loops = this.started.then(
      () => Promise.all(this.signals.map((_, partition) => this.run(partition))).then(() => undefined),
      (error: unknown) => this.die(new SubscriptionError(this.config.name, `could not start: ${String(error)}`, undefined, { cause: error })),
    );
  }

  /** Where a new checkpoint starts. */
  private async startPosition(): Promise<string> {
    const { startFrom = "beginning" } = this.config;
    if (startFrom === "beginning") return "";
    return startFrom === "end" ? ((await this.scope.headPosition()) ?? "") : startFrom;
  }

  /** The subscription's name. */
  get name(): string {
    return this.config.name;
  }

  /** Wakes the workers: events have committed. */
  wake(): void {
    for (const signal of this.signals) signal.wake();
  }

  /**
   * Resolves once every event that had committed when it was called has been handled (by this
   * process or another running the same name); rejects if the subscription stops on an error, or,
   * with `timeoutMs`, with a {@link SubscriptionError} once that time has passed.
   */
  async caughtUp(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs;
    if (timeoutMs === undefined) return this.waitUntilCaughtUp(new AbortController().signal);
    assertWholeNumber(timeoutMs, "timeoutMs", 0);
    // A timer, not a check between queries: the queries themselves may wait (for the one connection
    // of an embedded database, held by a handler).
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(), timeoutMs);
    try {
      await Promise.race([
        this.waitUntilCaughtUp(giveUp.signal),
        new Promise<never>((_, reject) =>
          giveUp.signal.addEventListener("abort", () => reject(new SubscriptionError(this.config.name, `not caught up after ${timeoutMs} ms`))),
        ),
      ]);
    } finally {
      clearTimeout(timer);
      giveUp.abort();
    }
  }

  private async waitUntilCaughtUp(cancelled: AbortSignal): Promise<void> {
    await this.started;
    const { db, tables: { checkpoints } } = this.scope;
    const upTo = await checkpoints.newestTransaction(db);
    while (!cancelled.aborted) {
      if (this.fatal !== undefined) throw this.fatal;
      if (upTo === undefined || (await checkpoints.reached(db, this.config.name, upTo))) return;
      if (!this.running) throw this.fatal ?? new SubscriptionError(this.config.name, "stopped before it caught up");
      await this.progress.sleep(50);
    }
  }

  /** Finishes the batch in hand, hands the lease back, and stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.wake();
    this.progress.wake();
    await this.loops;
    this.onStopped();
  }

  /** Each partition's checkpoint, lag, owner and last error. */
  status(): Promise<SubscriptionStatus[]> {
    return this.scope.tables.checkpoints.status(this.scope.db, this.config.name);
  }

  /** The events this subscription parked. */
  parked(): Promise<ParkedEvent[]> {
    return this.scope.tables.parkedEvents.parked(this.scope.db, this.config.name);
  }

  /**
   * Runs the handler again on every parked event, oldest first, each in its own transaction that
   * also forgets it. Resolves to how many were handled; stops at the first that fails again.
   */
  replayParked(): Promise<number> {
    return replayParked(this.scope, this.config.name, eventHandlerOf(this.config, this.handlers.parse));
  }

  private async run(partition: number): Promise<void> {
    const signal = this.signals[partition]!;
    let idleSleep = FIRST_IDLE_SLEEP_MS;
    let errorSleep = FIRST_IDLE_SLEEP_MS;
    let heldBackSleep = HELD_BACK_FIRST_POLL_MS;
    // The owner renews its lease on every poll, so it must poll well within the lease.
    const longestSleep = Math.min(this.config.maxSleepMs, this.config.leaseMs / 3);
    const watch = this.heldBackWatch(partition);
    while (this.running) {
      let outcome: BatchOutcome;
      try {
        outcome = await this.batch(partition);
        errorSleep = FIRST_IDLE_SLEEP_MS;
      } catch (error) {
        this.scope.logger.warn(`subscription ${this.config.name}: batch failed`, { partition, error: String(error) });
        await signal.sleep(errorSleep);
        errorSleep = Math.min(errorSleep * 2, longestSleep);
        continue;
      }
      this.progress.wake();
      if (outcome.kind !== "again") this.partitionStates[partition]!.rerun = 0;
      if (outcome.kind === "handled" && outcome.full) continue;
      if (outcome.kind === "handled" && outcome.count > 0) idleSleep = FIRST_IDLE_SLEEP_MS;
      if (outcome.kind === "standby") {
        // Commits do not wake a standby: only the lease running out lets it take over.
        await this.pause(this.config.leaseMs / 3);
      } else if (outcome.kind === "again") {
        await this.pause(outcome.delayMs);
      } else if (outcome.kind === "failed") {
        const failure = this.partitionStates[partition]!.failure;
        if (failure !== undefined) await this.pause(Math.min(this.config.retryDelayMs * 2 ** (failure.attempts - 1), this.config.maxSleepMs));
      } else if (outcome.count === 0 && (await this.heldBack(partition))) {
        await watch().catch(() => undefined);
        await signal.sleep(heldBackSleep);
        heldBackSleep = Math.min(heldBackSleep * 2, HELD_BACK_MAX_POLL_MS);
      } else {
        heldBackSleep = HELD_BACK_FIRST_POLL_MS;
        await signal.sleep(idleSleep);
        idleSleep = Math.min(idleSleep * 2, longestSleep);
      }
    }
    await this.scope.tables.checkpoints.release(this.scope.db, this.config.name, partition, this.owner).catch(() => undefined);
  }

  /**
   * Whether committed events of the partition wait behind an open transaction, or, read from a
   * replica, have not reached it yet (false when that cannot be told).
   */
  private heldBack(partition: number): Promise<boolean> {
    const { db, readsFromReplica, tables: { checkpoints } } = this.scope;
    return checkpoints.isHeldBack(db, this.config.name, partition, { orNotReplayed: readsFromReplica }).catch(() => false);
  }

  /**
   * A check, run while committed events are held back, that warns once per episode when an open
   * transaction has held them back longer than `heldBackWarningMs`.
   */
  private heldBackWatch(partition: number): () => Promise<void> {
    let lastCheck = 0;
    let warnedAbout: number | null | undefined;
    return async () => {
      if (performance.now() - lastCheck < Math.min(HELD_BACK_CHECK_MS, this.config.heldBackWarningMs)) return;
      lastCheck = performance.now();
      const blocker = await this.scope.tables.checkpoints.oldestOpenTransaction(this.scope.db);
      const heldFor = blocker.since === null ? 0 : Date.now() - blocker.since.getTime();
      if (heldFor < this.config.heldBackWarningMs || warnedAbout === blocker.pid) return;
      warnedAbout = blocker.pid;
      this.scope.logger.warn(
        `subscription ${this.config.name}: committed events have waited ${Math.round(heldFor / 1000)} s for an open transaction (backend pid ${blocker.pid}); readers take events in commit order`,
        { partition, pid: blocker.pid, since: blocker.since },
      );
    };
  }

  /** Waits `ms`, or less when the subscription stops. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, this.stopping.signal);
  }

  /**
   * One batch: its attempt recorded first, so that a handler that ends the process is counted; the
   * attempt forgotten again when the batch ends here without moving the checkpoint.
   */
  private async batch(partition: number): Promise<BatchOutcome> {
    const { db, tables: { checkpoints } } = this.scope;
    const { name, leaseMs } = this.config;
    const state = this.partitionStates[partition]!;
    if (state.singles > 0) state.limit = 1;
    const attempt = await checkpoints.startAttempt(db, name, partition, this.owner, leaseMs, state.limit);
    if (attempt === undefined) return { kind: "standby" };
    if (attempt.singles > 0) {
      state.singles = attempt.singles;
      state.limit = 1;
    }
    let outcome: BatchOutcome | undefined;
    try {
      outcome = await this.handleBatchOf(partition, attempt);
      return outcome;
    } finally {
      if (outcome?.kind !== "handled") await checkpoints.finishAttempt(db, name, partition).catch(() => undefined);
    }
  }

  private async handleBatchOf(partition: number, attempt: Attempt): Promise<BatchOutcome> {
    const { checkpoints } = this.scope.tables;
    const { name, batchSize, aggregateTypes, partitions, leaseMs } = this.config;
    try {
      return await this.scope.transaction(async (transaction): Promise<BatchOutcome> => {
        const { session: tx, db } = transaction;
        const claimed = await checkpoints.claim(db, name, partition);
        if (claimed === undefined) return { kind: "standby" };
        const state = this.partitionStates[partition]!;
        if (state.narrowUntil !== undefined && claimed >= state.narrowUntil) state.narrowUntil = undefined;
        const limit = state.limit;
        let events = await transaction.readEvents({ aggregateTypes, after: claimed, limit, partition: { index: partition, count: partitions } });
        const first = events[0];
        if (attempt.endedBefore >= this.config.maxAttempts && first !== undefined && state.failure?.position !== first.position) {
          // Counted like a throwing handler's attempts, the last of which this one is.
          state.failure = { position: first.position, attempts: attempt.endedBefore - 1, error: undefined };
          throw new HandlerFailure(first, new Error(`its handler ended the process ${attempt.endedBefore} times`));
        }
        const failure = state.failure;
        const failing = failure === undefined ? -1 : events.findIndex((event) => event.position === failure.position);
        if (failing === 0 && failure!.attempts >= this.config.maxAttempts) {
          // Only reached with onError "park": "stop" ends the subscription when the attempts run out.
          await this.scope.tables.parkedEvents.park(db, name, [{ position: failure!.position, error: errorText(failure!.error), attempts: failure!.attempts }]);
          await checkpoints.advance(db, name, partition, claimed, failure!.position, this.owner, leaseMs);
          state.failure = undefined;
          this.scope.logger.warn(`subscription ${name}: parked event ${failure!.position}`, { error: errorText(failure!.error) });
          return { kind: "handled", count: 1, full: false };
        }
        // Handle what comes before a failing event on its own, then the failing event alone.
        if (failing >= 0) events = events.slice(0, Math.max(failing, 1));
        // Handlers get personal values opened, with the keys read in the batch's transaction.
        await this.handlers.handle(await this.scope.personalData.reveal(db, await this.parkBehind(db, events)), tx);
        try {
          await checkpoints.advance(db, name, partition, claimed, events.at(-1)?.position ?? claimed, this.owner, leaseMs);
        } catch (error) {
          throw aborted(error) ? unattributed(events, events.length, error) : error;
        }
        if (failing === 0) state.failure = undefined;
        // Smaller batches grow back once one gets through, unless a failing event is still sought.
        state.singles = Math.max(0, state.singles - events.length);
        if (state.narrowUntil === undefined && state.singles === 0) state.limit = Math.min(state.limit * 2, batchSize);
        return { kind: "handled", count: events.length, full: events.length === limit && failing < 0 };
      });
    } catch (error) {
      if (error instanceof CheckpointMovedError) return { kind: "again", delayMs: 0 };
      const cause = error instanceof HandlerFailure || error instanceof UnattributedFailure ? error.cause : error;
      if (needsNewTransaction(cause)) return this.runAgain(partition, cause);
      if (error instanceof UnattributedFailure) {
        const state = this.partitionStates[partition]!;
        state.narrowUntil = error.through;
        state.limit = Math.max(1, Math.floor(error.count / 2));
        this.scope.logger.warn(`subscription ${name}: ${error.message}; splitting it to find the event`, { partition });
        return { kind: "again", delayMs: 0 };
      }
      if (!(error instanceof HandlerFailure)) throw error;
      return this.handlerFailed(partition, error);
    }
  }

  /**
   * With `parkScope: "stream"`, parks the events of streams that have a parked event behind it, in
   * the batch's transaction, and returns the others, to handle.
   */
  private async parkBehind(db: Kysely<any>, events: ReadonlyArray<RecordedEvent>): Promise<ReadonlyArray<RecordedEvent>> {
    if (this.config.parkScope !== "stream" || events.length === 0) return events;
    const { parkedEvents } = this.scope.tables;
    const parked = await parkedEvents.parkedStreams(db, this.config.name);
    if (parked.size === 0) return events;
    const behind = (event: RecordedEvent) => parked.get(streamKey(event.aggregateType, event.aggregateId));
    await parkedEvents.park(
      db,
      this.config.name,
      events.flatMap((event) => {
        const first = behind(event);
        return first === undefined ? [] : [{ position: event.position, error: `parked behind ${first}, a parked event of its stream`, attempts: 0 }];
      }),
    );
    return events.filter((event) => behind(event) === undefined);
  }

  /**
   * A batch that a concurrent transaction made fail: run it again soon, without counting an attempt,
   * and smaller: a shorter transaction is less likely to meet a newer writer of the same streams.
   */
  private runAgain(partition: number, cause: unknown): BatchOutcome {
    const state = this.partitionStates[partition]!;
    const count = ++state.rerun;
    state.limit = Math.max(1, Math.floor(state.limit / 2));
    if (count % 10 === 0) this.scope.logger.warn(`subscription ${this.config.name}: batch rolled back ${count} times in a row by concurrent transactions`, { partition, error: errorText(cause) });
    return { kind: "again", delayMs: backoffDelay(count) };
  }

  private async handlerFailed(partition: number, failure: HandlerFailure): Promise<BatchOutcome> {
    const { name, maxAttempts, onError } = this.config;
    const state = this.partitionStates[partition]!;
    const known = state.failure;
    const current: Failure =
      known !== undefined && known.position === failure.event.position
        ? known
        : { position: failure.event.position, attempts: 0, error: undefined };
    current.attempts += 1;
    current.error = failure.cause;
    state.failure = current;
    const message = `${failure.message} (attempt ${current.attempts} of ${maxAttempts}): ${errorText(failure.cause)}`;
    await this.scope.tables.checkpoints.recordError(this.scope.db, name, partition, message).catch(() => undefined);
    this.scope.logger.warn(`subscription ${name}: ${message}`);
    if (current.attempts >= maxAttempts && onError === "stop") {
      this.die(new SubscriptionError(name, message, failure.event.position, { cause: failure.cause }));
    }
    return { kind: "failed" };
  }

  private die(error: SubscriptionError): void {
    this.fatal ??= error;
    this.running = false;
    this.stopping.abort();
    this.scope.logger.error(error.message);
    this.wake();
    this.progress.wake();
    this.onStopped();
  }
}
