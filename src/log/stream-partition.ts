import { type RawBuilder, sql } from "kysely";

/**
 * SQL for the partition (0 to count - 1) of the stream whose id is `aggregateId`: md5, not hashtext,
 * because a stream must stay in its partition across PostgreSQL versions, or its order could break.
 */
export function streamPartition(aggregateId: RawBuilder<unknown> | ReturnType<typeof sql.ref>, count: number | RawBuilder<number>): RawBuilder<number> {
  return sql`(((('x' || substr(md5(${aggregateId}::text), 1, 8))::bit(32)::int) & 2147483647) % ${count})`;
}
