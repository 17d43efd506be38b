import { type Kysely, sql } from "kysely";
import { InvalidArgumentError, StreamDeletedError, StreamNotFoundError } from "../errors.js";
import type { MeowmxTables } from "../database/tables.js";
import { refusal, type StreamLifecycleRow, type StreamSql } from "./stream-sql.js";

// The columns an event keeps when it moves between the log and the archive, positions included.
const MOVED_COLUMNS = sql.raw(
  "sequence, transaction_id, aggregate_type, aggregate_id, version, type, data, metadata, event_id, created_at, schema_version",
);

/**
 * Archives, restores, deletes and truncates streams, each on a transaction its caller owns and
 * commits. Each first locks the events table against writers (share row exclusive: appends wait, and
 * so do other lifecycle operations; reads do not). Without the lock an append whose statement had
 * read the stream before the operation committed could still add to it afterwards: a new stream's
 * plain insert at version 1 waits on the row being removed, then goes in. With it, an append either
 * committed before (and the operation moves its events too) or runs after, sees the lifecycle row,
 * and is refused.
 */
export class StreamLifecycle {
  private readonly archive: ReturnType<typeof sql.id>;
  private readonly parked: ReturnType<typeof sql.id>;

  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly stream: StreamSql,
    schema: string,
  ) {
    this.archive = sql.id(schema, "archived_events");
    this.parked = sql.id(schema, "parked_events");
  }

  // Each returns false when the stream already was as asked (archiving an archived stream, deleting a deleted one).

  /** Moves the stream's events to the archive, where no reader looks, and refuses appends to it. */
  async archiveStream(aggregateType: string, aggregateId: string): Promise<boolean> {
    const { status, head } = await this.lockedStream(aggregateType, aggregateId);
    if (status === "deleted") throw new StreamDeletedError(aggregateType, aggregateId);
    if (status === "archived") return false;
    if (head === 0) throw new StreamNotFoundError(aggregateType, aggregateId);
    await sql`
      with moved as (delete from ${this.stream.events} where ${this.stream.isStream(aggregateType, aggregateId)} returning ${MOVED_COLUMNS})
      insert into ${this.archive} (${MOVED_COLUMNS}) select ${MOVED_COLUMNS} from moved`.execute(this.db);
    await this.setStatus(aggregateType, aggregateId, "archived");
    return true;
  }

  /** Moves an archived stream's events back to the log, at their positions, and lets it take appends again. */
  async restoreStream(aggregateType: string, aggregateId: string): Promise<boolean> {
    const { status, head, truncatedBefore } = await this.lockedStream(aggregateType, aggregateId);
    if (status === "deleted") throw new StreamDeletedError(aggregateType, aggregateId);
    if (status === null) {
      if (head === 0) throw new StreamNotFoundError(aggregateType, aggregateId);
      return false;
    }
    await sql`
      with moved as (delete from ${this.archive} where ${this.stream.isStream(aggregateType, aggregateId)} returning ${MOVED_COLUMNS})
      insert into ${this.stream.events} (${MOVED_COLUMNS}) overriding system value select ${MOVED_COLUMNS} from moved`.execute(this.db);
    if (truncatedBefore === null) {
      await sql`delete from ${this.stream.lifecycle} where ${this.stream.isStream(aggregateType, aggregateId)}`.execute(this.db);
    } else {
      await this.setStatus(aggregateType, aggregateId, null);
    }
    return true;
  }

  /** Removes the stream's events, archived or not, and their parked copies, and leaves a tombstone that refuses appends. */
  async deleteStream(aggregateType: string, aggregateId: string): Promise<boolean> {
    const { status, head } = await this.lockedStream(aggregateType, aggregateId);
    if (status === "deleted") return false;
    if (status === null && head === 0) throw new StreamNotFoundError(aggregateType, aggregateId);
    const table = status === "archived" ? this.archive : this.stream.events;
    // Parked events among them go too: there is nothing left to replay.
    await sql`
      with removed as (delete from ${table} where ${this.stream.isStream(aggregateType, aggregateId)} returning transaction_id, sequence)
      delete from ${this.parked} as p using removed as r where p.transaction_id = r.transaction_id and p.sequence = r.sequence`.execute(this.db);
    await this.setStatus(aggregateType, aggregateId, "deleted");
    return true;
  }

  /** Removes the versions below `before` (1 to the version + 1); loads then return what is left, at its versions. */
  async truncateStream(aggregateType: string, aggregateId: string, before: number): Promise<boolean> {
    const { status, head, truncatedBefore } = await this.lockedStream(aggregateType, aggregateId);
    if (status !== null) throw refusal(status, aggregateType, aggregateId);
    if (head === 0) throw new StreamNotFoundError(aggregateType, aggregateId);
    if (before > head + 1) {
      throw new InvalidArgumentError(`before must be from 1 to the stream's version + 1 (${head + 1}) for ${aggregateType}/${aggregateId}, got ${before}`);
    }
    if (before <= (truncatedBefore ?? 1)) return false;
    await sql`delete from ${this.stream.events} where ${this.stream.isStream(aggregateType, aggregateId)} and version < ${before}`.execute(this.db);
    await sql`
      insert into ${this.stream.lifecycle} (aggregate_type, aggregate_id, truncated_before)
      values (${aggregateType}, ${aggregateId}, ${before})
      on conflict (aggregate_type, aggregate_id) do update set truncated_before = excluded.truncated_before, changed_at = now()`.execute(this.db);
    return true;
  }

  /** Locks out writers, then reads the stream's lifecycle row and its head. */
  private async lockedStream(aggregateType: string, aggregateId: string): Promise<StreamLifecycleRow & { head: number }> {
    await sql`lock table ${this.stream.events} in share row exclusive mode`.execute(this.db);
    return this.stream.withTypedIds(() => this.stream.stateOf(this.db, aggregateType, aggregateId));
  }

  private async setStatus(aggregateType: string, aggregateId: string, status: "archived" | "deleted" | null): Promise<void> {
    await sql`
      insert into ${this.stream.lifecycle} (aggregate_type, aggregate_id, status)
      values (${aggregateType}, ${aggregateId}, ${status})
      on conflict (aggregate_type, aggregate_id) do update set status = excluded.status, changed_at = now()`.execute(this.db);
  }
}
