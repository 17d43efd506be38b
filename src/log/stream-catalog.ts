import type { MeowmxTables } from "../database/tables.js";
import { type Kysely, sql } from "kysely";

/** One category of streams: how many streams and events it holds and when it last changed. */
export interface CategorySummary {
  readonly aggregateType: string;
  readonly streams: number;
  readonly events: number;
  readonly lastChange: Date;
}

/** One stream: its version and when its first and last events were written. */
export interface StreamSummary {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** An archived stream: its version and when it was archived. */
export interface ArchivedStream {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly version: number;
  readonly archivedAt: Date;
}

/** A page of a category's streams, and how many match in all. */
export interface StreamPage {
  readonly streams: StreamSummary[];
  readonly total: number;
}

/** Which streams of a category to list. */
export interface StreamQuery {
  /** Only streams whose id contains this text (case-insensitive). */
  readonly search?: string;
  readonly limit: number;
  readonly offset?: number;
}

/**
 * The streams view and what it summarises: the categories, their streams and their sizes, for the
 * CLI and the explorer. Each call scans what it summarises; none of it is on an append's path.
 */
export class StreamCatalog {
  constructor(private readonly schema: string) {}

  /** Every category, by name. */
  async categories(db: Kysely<MeowmxTables>): Promise<CategorySummary[]> {
    const { rows } = await sql<{ aggregate_type: string; streams: number; events: number; last_change: Date }>`
      select aggregate_type, count(distinct aggregate_id)::int as streams, count(*)::int as events, max(created_at) as last_change
      from ${sql.id(this.schema, "events")} group by aggregate_type order by aggregate_type`.execute(db);
    return rows.map((row) => ({ aggregateType: row.aggregate_type, streams: row.streams, events: row.events, lastChange: row.last_change }));
  }

  /** A page of a category's streams, by id. */
  async streams(db: Kysely<MeowmxTables>, aggregateType: string, query: StreamQuery): Promise<StreamPage> {
    const pattern = query.search === undefined || query.search === "" ? null : `%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const where = sql`aggregate_type = ${aggregateType} and (${pattern}::text is null or aggregate_id::text ilike ${pattern})`;
    const view = sql.id(this.schema, "streams");
    const { rows } = await sql<{ aggregate_id: string; version: number; created_at: Date; updated_at: Date }>`
      select aggregate_id::text, version, created_at, updated_at from ${view} where ${where}
      order by aggregate_id limit ${query.limit} offset ${query.offset ?? 0}`.execute(db);
    const { rows: counted } = await sql<{ total: number }>`select count(*)::int as total from ${view} where ${where}`.execute(db);
    return {
      streams: rows.map((row) => ({ aggregateType, aggregateId: row.aggregate_id, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at })),
      total: counted[0]?.total ?? 0,
    };
  }

  /** The archived streams of a category (of every one when undefined), by category and id. */
  async archivedStreams(db: Kysely<MeowmxTables>, aggregateType: string | undefined, limit: number): Promise<ArchivedStream[]> {
    const { rows } = await sql<ArchivedStream>`
      select life.aggregate_type as "aggregateType", life.aggregate_id::text as "aggregateId", life.changed_at as "archivedAt",
             coalesce((select max(version) from ${sql.id(this.schema, "archived_events")} as a
                       where a.aggregate_type = life.aggregate_type and a.aggregate_id = life.aggregate_id), life.truncated_before - 1, 0) as version
      from ${sql.id(this.schema, "stream_lifecycle")} as life
      where life.status = 'archived' ${aggregateType === undefined ? sql`` : sql`and life.aggregate_type = ${aggregateType}`}
      order by life.aggregate_type, life.aggregate_id
      limit ${limit}`.execute(db);
    return rows;
  }

  /** How many events these categories hold: the total of a progress bar. */
  async countEvents(db: Kysely<MeowmxTables>, aggregateTypes: ReadonlyArray<string>): Promise<number> {
    const { rows } = await sql<{ total: number }>`
      select count(*)::int as total from ${sql.id(this.schema, "events")}
      where aggregate_type = any(${[...aggregateTypes]}::text[])`.execute(db);
    return rows[0]?.total ?? 0;
  }
}
