import { type Kysely, type RawBuilder, sql } from "kysely";
import type { AggregateIdType } from "../database/backend.js";
import { isBadValueForType } from "../database/database-errors.js";
import { InvalidEventError } from "../errors.js";
import type { MeowmxTables } from "../database/tables.js";

/** The SQL fragments that name one stream of the events table, shared by appends and loads. */
export class StreamSql {
  /** The events table. */
  readonly events: RawBuilder<unknown>;
  private readonly idType: RawBuilder<unknown>;

  constructor(
    schema: string,
    private readonly aggregateIdType: AggregateIdType,
  ) {
    this.events = sql.id(schema, "events");
    this.idType = sql.raw(aggregateIdType.cast);
  }

  /** SQL that is true for the rows of one stream. */
  isStream(aggregateType: string, aggregateId: string): RawBuilder<boolean> {
    return sql`aggregate_type = ${aggregateType} and aggregate_id = ${aggregateId}::${this.idType}`;
  }

  /** The stream's version (0 for no stream): one descent of the (stream, version) index. */
  async headOf(db: Kysely<MeowmxTables>, aggregateType: string, aggregateId: string): Promise<number> {
    const { rows } = await sql<{ version: number }>`
      select coalesce((select version from ${this.events} where ${this.isStream(aggregateType, aggregateId)} order by version desc limit 1), 0) as version`.execute(db);
    return rows[0]?.version ?? 0;
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
