import { type Kysely, type RawBuilder, sql } from "kysely";
import type { AggregateIdType } from "../database/backend.js";
import { isBadValueForType } from "../database/database-errors.js";
import { InvalidEventError, StreamArchivedError, StreamDeletedError } from "../errors.js";
import type { MeowmxTables } from "../database/tables.js";

/** What refuses appends to a stream: an archive or a deletion. */
export type StreamStatus = "archived" | "deleted";

/** A stream's lifecycle: nulls for a stream that was never archived, deleted or truncated. */
export interface StreamLifecycleRow {
  readonly status: StreamStatus | null;
  /** The first version a truncation kept. */
  readonly truncatedBefore: number | null;
}

/** The error an append to a stream with this status gets. */
export function refusal(status: StreamStatus, aggregateType: string, aggregateId: string): StreamArchivedError | StreamDeletedError {
  return status === "archived" ? new StreamArchivedError(aggregateType, aggregateId) : new StreamDeletedError(aggregateType, aggregateId);
}

/** The SQL fragments that name one stream of the events table, shared by appends and loads. */
export class StreamSql {
  /** The events table. */
  readonly events: RawBuilder<unknown>;
  /** The table of archived, deleted and truncated streams. */
  readonly lifecycle: RawBuilder<unknown>;
  private readonly idType: RawBuilder<unknown>;

  constructor(
    schema: string,
    private readonly aggregateIdType: AggregateIdType,
  ) {
    this.events = sql.id(schema, "events");
    this.lifecycle = sql.id(schema, "stream_lifecycle");
    this.idType = sql.raw(aggregateIdType.cast);
  }

  /** SQL that is true for the rows of one stream. */
  isStream(aggregateType: string, aggregateId: string): RawBuilder<boolean> {
    return sql`aggregate_type = ${aggregateType} and aggregate_id = ${aggregateId}::${this.idType}`;
  }

  /**
   * The stream's version (0 for no stream): one descent of the (stream, version) index, and the
   * version a truncation of every event left.
   */
  async headOf(db: Kysely<MeowmxTables>, aggregateType: string, aggregateId: string): Promise<number> {
    return (await this.stateOf(db, aggregateType, aggregateId)).head;
  }

  /** The stream's version (as {@link headOf}) and its lifecycle row, in one query. */
  async stateOf(db: Kysely<MeowmxTables>, aggregateType: string, aggregateId: string): Promise<StreamLifecycleRow & { head: number }> {
    const { rows } = await sql<StreamLifecycleRow & { head: number }>`
      select coalesce((select version from ${this.events} where ${this.isStream(aggregateType, aggregateId)} order by version desc limit 1),
                      life.truncated_before - 1, 0) as head,
             life.status, life.truncated_before as "truncatedBefore"
      from (select 1) as one left join ${this.lifecycle} as life on ${this.isStream(aggregateType, aggregateId)}`.execute(db);
    return rows[0]!;
  }

  /** Reports an id that PostgreSQL cannot cast to the id column's type as bad input. */
  async withTypedIds<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isBadValueForType(error)) {
        throw new InvalidEventError(`aggregate id does not fit the aggregate id type ${this.aggregateIdType.declared}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}
