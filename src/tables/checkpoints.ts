import type { MeowmxTables } from "../database/tables.js";
import { type Kysely, type RawBuilder, sql } from "kysely";
import { InvalidArgumentError, MeowmxError } from "../errors.js";
import { streamPartition } from "../log/stream-partition.js";
import { decodePosition, positionOf } from "../log/position.js";
import { FORGET_ATTEMPT } from "../migrations/migrations.js";
import type { HeldBackBy, SubscriptionStatus } from "./subscription-status.js";

/** A batch's attempt as recorded before its handler runs. */
export interface Attempt {
  /**
   * After a batch that never ended: how many events it could hold, to be taken one at a time now
   * (the one that ended the process is among them); 0 otherwise.
   */
  readonly singles: number;
  /** How many times a batch of one event started here and never ended: its process ended. */
  readonly endedBefore: number;
}

/** The checkpoint moved while a batch was handled: the batch is rolled back and read again. */
export class CheckpointMovedError extends MeowmxError {
  constructor(name: string, partition: number) {
    super("CHECKPOINT_MOVED", `subscription ${name}: partition ${partition} was handled by another worker meanwhile`);
  }
}

/**
 * The durable checkpoints of subscriptions: one row per name and partition, with a lease, and what
 * operators see of them (lag, parked count, the transaction holding readers back).
 */
export class Checkpoints {
  constructor(private readonly schema: string) {}

  private table(name: string) {
    return sql.id(this.schema, name);
  }

  /**
   * Creates the rows of a subscription's partitions if they are missing. Refuses, writing nothing,
   * another partition count, and categories beyond those a started subscription was reading: its
   * position would pass over their history. `retarget` allows the latter for a caller that moves
   * the position itself (a projection rebuild).
   */
  async ensure(
    db: Kysely<MeowmxTables>,
    name: string,
    partitions: number,
    aggregateTypes: ReadonlyArray<string> | undefined,
    options: { retarget?: boolean; start?: string } = {},
  ): Promise<void> {
    if (!db.isTransaction) return db.transaction().execute((trx) => this.ensure(trx, name, partitions, aggregateTypes, options));
    const start = decodePosition(options.start);
    const types = aggregateTypes === undefined ? null : [...aggregateTypes];
    // Two processes starting the same name with different settings must not both pass the check.
    await sql`select pg_advisory_xact_lock(hashtextextended(${`meowmx subscription ${this.schema}\u001f${name}`}, 0))`.execute(db);
    const { rows } = await sql<{ partitions: number; aggregate_types: string[] | null; started: boolean }>`
      select partitions, aggregate_types, bool_or(sequence > 0) over () as started
      from ${this.table("subscriptions")} where name = ${name} limit 1`.execute(db);
    const existing = rows[0];
    if (existing !== undefined && existing.partitions !== partitions) {
      throw new InvalidArgumentError(`subscription ${name} runs with ${existing.partitions} partitions; it cannot also run with ${partitions}`);
    }
    const widened = existing !== undefined && existing.aggregate_types !== null && (types === null || types.some((type) => !existing.aggregate_types!.includes(type)));
    if (widened && existing.started && options.retarget !== true) {
      throw new InvalidArgumentError(
        `subscription ${name} reads ${existing.aggregate_types!.join(", ")}; it cannot also read ${types === null ? "every category" : types.join(", ")}: ` +
          "its position would pass over the history of the new categories. Give it a new name, or reset it (store.resetSubscription)",
      );
    }
    await sql`
      insert into ${this.table("subscriptions")} (name, partition, partitions, aggregate_types, transaction_id, sequence)
      select ${name}, p, ${partitions}, ${types}::text[], ${start.transactionId.toString()}::xid8, ${start.sequence.toString()}
      from generate_series(0, ${partitions - 1}) p
      on conflict (name, partition) do update set aggregate_types = excluded.aggregate_types
      where ${this.table("subscriptions")}.aggregate_types is distinct from excluded.aggregate_types`.execute(db);
  }

  /**
   * Takes a partition for the batch's transaction and reads its checkpoint: the position of the last
   * event handled ("" before the first). Undefined when another worker's batch holds it right now
   * (no waiting). The lease was taken before, by {@link startAttempt}. The lock is an advisory one,
   * not a row lock, so that the transaction gets no transaction id before its handler writes: a
   * transaction id taken early would put the handler's appends behind other writers' and make them
   * conflict.
   */
  async claim(db: Kysely<MeowmxTables>, name: string, partition: number): Promise<string | undefined> {
    const { rows } = await sql<{ locked: boolean; tx_id: string | null; seq: string | null }>`
      with lock as materialized (select pg_try_advisory_xact_lock(${this.partitionLockKey(name, partition)}) as locked)
      select lock.locked, s.transaction_id::text as tx_id, s.sequence::text as seq
      from lock left join ${this.table("subscriptions")} s on lock.locked and s.name = ${name} and s.partition = ${partition}`.execute(db);
    const row = rows[0];
    if (row === undefined || !row.locked || row.tx_id === null || row.seq === null) return undefined;
    return checkpointPosition({ tx_id: row.tx_id, seq: row.seq });
  }

  /**
   * Records, committed before a batch's handler runs, that a batch of at most `limit` events starts
   * at the partition's checkpoint, and takes the lease for `owner`: what a handler that ends the
   * process leaves behind for the next worker to find. Undefined when another worker holds the
   * lease. Its commit does not wait for the disk: it must outlive the process, not the server.
   */
  async startAttempt(db: Kysely<MeowmxTables>, name: string, partition: number, owner: string, leaseMs: number, limit: number): Promise<Attempt | undefined> {
    const table = this.table("subscriptions");
    // Unfinished: a batch that another worker started here and never ended (its process did). This
    // worker's own attempts ended before it got here, whatever the row says.
    const { rows } = await sql<{ attempts: number; unfinished: boolean; previous_limit: number | null }>`
      with async_commit as materialized (select set_config('synchronous_commit', 'off', true)),
      previous as (
        select coalesce(attempt_transaction_id = transaction_id and attempt_sequence = sequence and owner is distinct from ${owner}, false) as unfinished,
               attempts, attempt_limit
        from ${table} where name = ${name} and partition = ${partition} for update
      )
      update ${table} as s set
        attempts = case when previous.unfinished then previous.attempts + 1 when ${limit} = 1 then 1 else 0 end,
        attempt_limit = case when previous.unfinished then 1 else ${limit} end,
        attempt_transaction_id = s.transaction_id, attempt_sequence = s.sequence,
        owner = ${owner}, lease_until = now() + ${leaseMs} * interval '1 millisecond'
      from previous, async_commit
      where s.name = ${name} and s.partition = ${partition} and not coalesce(s.owner <> ${owner} and s.lease_until > now(), false)
      returning s.attempts, previous.unfinished, previous.attempt_limit as previous_limit`.execute(db);
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      singles: row.unfinished ? Math.max(1, row.previous_limit ?? 1) : 0,
      endedBefore: Math.max(0, row.attempts - 1),
    };
  }

  /** Forgets a batch's attempt once this process knows how it ended (a commit of advance does too). */
  async finishAttempt(db: Kysely<MeowmxTables>, name: string, partition: number): Promise<void> {
    await sql`update ${this.table("subscriptions")} set ${sql.raw(FORGET_ATTEMPT)}
      where name = ${name} and partition = ${partition} and attempt_transaction_id is not null`.execute(db);
  }

  /** The advisory lock key of a partition: one per schema, name and partition. */
  private partitionLockKey(name: string, partition: number) {
    return sql`hashtextextended(${`meowmx checkpoint ${this.schema}\u001f${name}\u001f${partition}`}, 0)`;
  }

  /**
   * Moves the checkpoint from `from` (as claimed) to `position` and renews the lease of `owner` for
   * `leaseMs`. Throws {@link CheckpointMovedError} when the checkpoint is no longer at `from`.
   */
  async advance(db: Kysely<MeowmxTables>, name: string, partition: number, from: string, position: string, owner: string, leaseMs: number): Promise<void> {
    const at = decodePosition(position);
    const was = decodePosition(from);
    const result = await sql`
      update ${this.table("subscriptions")}
      set transaction_id = ${at.transactionId.toString()}::xid8, sequence = ${at.sequence.toString()}, owner = ${owner},
          lease_until = now() + ${leaseMs} * interval '1 millisecond', last_error = null, updated_at = now(),
          ${sql.raw(FORGET_ATTEMPT)}
      where name = ${name} and partition = ${partition}
        and transaction_id = ${was.transactionId.toString()}::xid8 and sequence = ${was.sequence.toString()}`.execute(db);
    // A claim reads the checkpoint in the statement that takes the lock, with a snapshot that can
    // predate the previous holder's commit: the batch it read for is then handled already.
    if ((result.numAffectedRows ?? 0n) === 0n) throw new CheckpointMovedError(name, partition);
  }

  /** Waits for a partition and holds it to the end of the transaction: its worker pauses. */
  async lock(db: Kysely<MeowmxTables>, name: string, partition: number): Promise<void> {
    await sql`select pg_advisory_xact_lock(${this.partitionLockKey(name, partition)})`.execute(db);
  }

  /**
   * Moves every partition of a subscription to `position`, once the batches in hand have ended; a
   * worker then goes on from there. Throws when there is no such subscription.
   */
  async reset(db: Kysely<MeowmxTables>, name: string, position: string): Promise<void> {
    if (!db.isTransaction) return db.transaction().execute((trx) => this.reset(trx, name, position));
    const { rows } = await sql<{ partition: number }>`
      select partition from ${this.table("subscriptions")} where name = ${name} order by partition`.execute(db);
    if (rows.length === 0) throw new InvalidArgumentError(`there is no subscription named ${name}`);
    for (const { partition } of rows) await this.lock(db, name, partition);
    for (const { partition } of rows) await this.moveTo(db, name, partition, position);
  }

  /** Sets a partition's position, leaving its lease alone (a rebuild did the work up to there). */
  async moveTo(db: Kysely<MeowmxTables>, name: string, partition: number, position: string): Promise<void> {
    const at = decodePosition(position);
    await sql`
      update ${this.table("subscriptions")}
      set transaction_id = ${at.transactionId.toString()}::xid8, sequence = ${at.sequence.toString()}, last_error = null, updated_at = now()
      where name = ${name} and partition = ${partition}`.execute(db);
  }

  /** Records why the last batch failed, for operators. */
  async recordError(db: Kysely<MeowmxTables>, name: string, partition: number, error: string): Promise<void> {
    await sql`update ${this.table("subscriptions")} set last_error = ${error}, updated_at = now()
      where name = ${name} and partition = ${partition}`.execute(db);
  }

  /** Lets a standby take over at once: ends `owner`'s lease. */
  async release(db: Kysely<MeowmxTables>, name: string, partition: number, owner: string): Promise<void> {
    await sql`update ${this.table("subscriptions")} set owner = null, lease_until = null
      where name = ${name} and partition = ${partition} and owner = ${owner}`.execute(db);
  }

  /** Every partition of a subscription (or of all subscriptions), with its lag and parked events. */
  async status(db: Kysely<MeowmxTables>, name?: string): Promise<SubscriptionStatus[]> {
    const { rows } = await sql<{
      name: string;
      partition: number;
      partitions: number;
      tx_id: string;
      seq: string;
      owner: string | null;
      lease_until: Date | null;
      last_error: string | null;
      updated_at: Date;
      lag: number;
      parked: number;
      held_back: boolean;
    }>`
      select s.name, s.partition, s.partitions, s.transaction_id::text as tx_id, s.sequence::text as seq,
             case when s.lease_until > now() then s.owner end as owner, s.lease_until, s.last_error, s.updated_at,
             (select count(*)::int from ${this.table("events")} e
               where (e.transaction_id, e.sequence) > (s.transaction_id, s.sequence)
                 and (s.aggregate_types is null or e.aggregate_type = any(s.aggregate_types))
                 and ${streamPartition(sql.ref("e.aggregate_id"), sql.ref("s.partitions"))} = s.partition) as lag,
             (select count(*)::int from ${this.table("parked_events")} p where p.subscription = s.name and s.partition = 0) as parked,
             ${this.waitingEvents(sql.ref("s.partition"))} as held_back
      from ${this.table("subscriptions")} s
      ${name === undefined ? sql`` : sql`where s.name = ${name}`}
      order by s.name, s.partition`.execute(db);
    const blocker = rows.some((row) => row.held_back) ? await this.oldestOpenTransaction(db) : null;
    return rows.map((row) => ({
      name: row.name,
      partition: row.partition,
      partitions: row.partitions,
      position: checkpointPosition(row),
      owner: row.owner,
      leaseUntil: row.lease_until,
      lastError: row.last_error,
      lag: row.lag,
      parked: row.parked,
      heldBackBy: row.held_back ? blocker : null,
      updatedAt: row.updated_at,
    }));
  }

  /** Whether committed events of a partition wait behind an open transaction. */
  async isHeldBack(db: Kysely<MeowmxTables>, name: string, partition: number, { orNotReplayed = false } = {}): Promise<boolean> {
    const { rows } = await sql<{ held_back: boolean }>`
      select ${this.waitingEvents(sql.val(partition), orNotReplayed)} as held_back
      from ${this.table("subscriptions")} s where s.name = ${name} and s.partition = ${partition}`.execute(db);
    return rows[0]?.held_back === true;
  }

  /**
   * SQL: whether committed events of the subscription row `s` wait behind an open transaction; with
   * `anyCommitted`, whether there are committed events after its position at all (a replica that has
   * not replayed them yet returns none).
   */
  private waitingEvents(partition: RawBuilder<unknown> | ReturnType<typeof sql.ref>, anyCommitted = false) {
    return sql<boolean>`exists (
      select 1 from ${this.table("events")} e
      where (e.transaction_id, e.sequence) > (s.transaction_id, s.sequence)
        ${anyCommitted ? sql`` : sql`and e.transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`}
        and (s.aggregate_types is null or e.aggregate_type = any(s.aggregate_types))
        and ${streamPartition(sql.ref("e.aggregate_id"), sql.ref("s.partitions"))} = ${partition})`;
  }

  /** The oldest transaction holding a transaction id, other than this one. */
  async oldestOpenTransaction(db: Kysely<MeowmxTables>): Promise<HeldBackBy> {
    const { rows } = await sql<{ pid: number; since: Date | null }>`
      select pid, xact_start as since from pg_stat_activity
      where backend_xid is not null and pid <> pg_backend_pid()
      order by age(backend_xid) desc limit 1`.execute(db);
    return rows[0] ?? { pid: null, since: null };
  }

  /**
   * Whether every partition has handled every event of its categories up to transaction `upTo`
   * (what had committed when `caughtUp` was called).
   */
  async reached(db: Kysely<MeowmxTables>, name: string, upTo: string): Promise<boolean> {
    const { rows } = await sql<{ behind: boolean }>`
      select exists (
        select 1 from ${this.table("subscriptions")} s
        where s.name = ${name} and exists (
          select 1 from ${this.table("events")} e
          where (e.transaction_id, e.sequence) > (s.transaction_id, s.sequence) and e.transaction_id <= ${upTo}::xid8
            and (s.aggregate_types is null or e.aggregate_type = any(s.aggregate_types))
            and ${streamPartition(sql.ref("e.aggregate_id"), sql.ref("s.partitions"))} = s.partition)
      ) as behind`.execute(db);
    return rows[0]?.behind === false;
  }

  /** The newest transaction id in the log, or undefined when the log is empty. */
  async newestTransaction(db: Kysely<MeowmxTables>): Promise<string | undefined> {
    const { rows } = await sql<{ id: string | null }>`select max(transaction_id)::text as id from ${this.table("events")}`.execute(db);
    return rows[0]?.id ?? undefined;
  }
}

/** A checkpoint's position: "" before the first event (sequence 0). */
export function checkpointPosition(row: { tx_id: string; seq: string }): string {
  return row.seq === "0" ? "" : positionOf(row.tx_id, row.seq);
}

/** A stream's key in {@link Checkpoints.parkedStreams}. */
export const streamKey = (aggregateType: string, aggregateId: string): string => `${aggregateType}\u001f${aggregateId}`;
