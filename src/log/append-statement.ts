import type { AggregateIdType } from "../database/backend.js";
import { quoteIdentifier } from "../database/identifiers.js";
import { markPrepared } from "../database/prepared-statements.js";
import type { AppendResult, ExpectedVersion, RecordedEvent } from "./events.js";
import { positionOf } from "./position.js";
import type { PreparedEvents } from "./inputs.js";
import type { StreamStatus } from "./stream-sql.js";

/** Where the append statements write: the schema of the events table and its aggregate id type. */
export interface AppendTarget {
  readonly schema: string;
  readonly aggregateIdType: AggregateIdType;
}

/** What the append statement settled to, and whether it stored the events now or found them stored. */
export interface Appended {
  readonly result: AppendResult;
  readonly fresh: boolean;
}

/**
 * What an append returns of the rows it inserted, as one row: they share their stream, transaction
 * and time, their versions follow each other, and only their sequence numbers differ. One row instead
 * of one per event saves the client most of the work of reading the result of a large batch.
 */
export interface InsertedRow {
  aggregate_id: string;
  tx_id: string;
  created_at: Date;
  first_version: number;
  /** The sequence numbers in version order, as a PostgreSQL array literal: "{17,18,20}". */
  sequences: string;
}

const RETURNING = "returning aggregate_id, version, transaction_id, sequence, created_at";
// A group's inserts span streams: each row says which.
const GROUP_RETURNING = "returning aggregate_type, aggregate_id, version, transaction_id, sequence, created_at";
// All rows share stream, transaction and time, so min() of each is that value; with no rows, all are null.
const SUMMARY = `select min(aggregate_id::text) as aggregate_id, min(transaction_id::text) as tx_id, min(created_at) as created_at,
             min(version) as first_version, array_agg(sequence order by version)::text as sequences
      from inserted`;

/**
 * The texts of the two append statements, built once per log configuration: they run on every
 * append, so they skip Kysely's query building and are prepared once per connection. Both refuse a
 * stream with a lifecycle row the same way: `newStream` inserts nothing (the caller then runs
 * `append`, which tells why), `append` returns the row's status. Parameters: $1 aggregate type,
 * $2 aggregate id, $3 the events as a JSON array; for `append`, $4 the expected version (null for
 * "any", -1 for "exists") and $5 whether the events carry ids of their own to look for.
 */
function appendStatements({ schema, aggregateIdType }: AppendTarget) {
  const idType = aggregateIdType.cast;
  const events = `${quoteIdentifier(schema)}.events`;
  const lifecycle = `${quoteIdentifier(schema)}.stream_lifecycle`;
  const stream = `aggregate_type = $1 and aggregate_id = $2::${idType}`;
  const input = "jsonb_array_elements($3::jsonb) with ordinality as x(value, n)";
  const columns = "(aggregate_type, aggregate_id, version, type, data, metadata, event_id, schema_version)";
  const schemaVersion = "coalesce((x.value ->> 'schemaVersion')::int, 1)";
  return {
    newStream: markPrepared(`
      with inserted as (
        insert into ${events} ${columns}
        select $1, $2::${idType}, x.n, x.value ->> 'type', x.value -> 'data', x.value -> 'metadata', (x.value ->> 'id')::uuid, ${schemaVersion}
        from ${input}
        where not exists (select from ${lifecycle} where ${stream})
        order by x.n
        ${RETURNING}
      )
      ${SUMMARY}`),
    append: markPrepared(`
      with input as (
        select x.value ->> 'type' as type, x.value -> 'data' as data, x.value -> 'metadata' as metadata,
               (x.value ->> 'id')::uuid as event_id, ${schemaVersion} as schema_version, x.n::int as n
        from ${input}
      ), head as (
        select coalesce(last.version, life.truncated_before - 1, 0) as version, coalesce(last.transaction_id <= pg_current_xact_id(), true) as in_order,
               case when $5::boolean
                 then (select count(*)::int from ${events} where ${stream} and event_id in (select event_id from input))
                 else 0 end as duplicates,
               life.status
        from (select 1) as one left join lateral (
          select version, transaction_id from ${events} where ${stream} order by version desc limit 1
        ) as last on true left join lateral (
          select status, truncated_before from ${lifecycle} where ${stream}
        ) as life on true
      ), inserted as (
        insert into ${events} ${columns}
        select $1, $2::${idType}, head.version + input.n, input.type, input.data, input.metadata, input.event_id, input.schema_version
        from head, input
        where ($4::int is null or head.version = $4::int or ($4::int = -1 and head.version > 0)) and head.duplicates = 0 and head.in_order
          and head.status is null
        order by input.n
        ${RETURNING}
      )
      select head.version as head, head.in_order, head.duplicates, head.status, summary.* from head left join (${SUMMARY}) as summary on true`),
    // Several appends to new streams in one statement: $1 is a JSON array of { t: aggregate type,
    // i: aggregate id, e: the events }. A stream with a lifecycle row inserts nothing (its append
    // then goes alone); one that exists fails the whole statement on the unique key. One row per
    // stream inserted, with its place in $1 (1-based).
    newStreams: markPrepared(`
      with member as (
        select m.n::int as member, m.value ->> 't' as aggregate_type, (m.value ->> 'i')::${idType} as aggregate_id, m.value -> 'e' as events
        from jsonb_array_elements($1::jsonb) with ordinality as m(value, n)
      ), inserted as (
        insert into ${events} ${columns}
        select member.aggregate_type, member.aggregate_id, x.n, x.value ->> 'type', x.value -> 'data', x.value -> 'metadata', (x.value ->> 'id')::uuid, ${schemaVersion}
        from member cross join lateral jsonb_array_elements(member.events) with ordinality as x(value, n)
        where not exists (select from ${lifecycle} as l where l.aggregate_type = member.aggregate_type and l.aggregate_id = member.aggregate_id)
        order by member.aggregate_type, member.aggregate_id, x.n
        ${GROUP_RETURNING}
      )
      select member.member, min(inserted.aggregate_id::text) as aggregate_id, min(inserted.transaction_id::text) as tx_id, min(inserted.created_at) as created_at,
             min(inserted.version) as first_version, array_agg(inserted.sequence order by inserted.version)::text as sequences
      from inserted join member on member.aggregate_type = inserted.aggregate_type and member.aggregate_id = inserted.aggregate_id
      group by member.member`),
    // Several appends in one statement, each checked as `append` checks one: $1 is a JSON array of
    // { t, i, e, x: the expected version as `append`'s $4, g: whether the events carry ids of their
    // own }. One row per append, with its place in $1 and `append`'s columns.
    appends: markPrepared(`
      with member as (
        select m.n::int as member, m.value ->> 't' as aggregate_type, (m.value ->> 'i')::${idType} as aggregate_id,
               (m.value ->> 'x')::int as expected, (m.value ->> 'g')::boolean as ids_given, m.value -> 'e' as events
        from jsonb_array_elements($1::jsonb) with ordinality as m(value, n)
      ), head as (
        select member.member, member.aggregate_type, member.aggregate_id, member.expected, member.events,
               coalesce(last.version, life.truncated_before - 1, 0) as version, coalesce(last.transaction_id <= pg_current_xact_id(), true) as in_order,
               case when member.ids_given
                 then (select count(*)::int from ${events} as e
                       where e.aggregate_type = member.aggregate_type and e.aggregate_id = member.aggregate_id
                         and e.event_id in (select (x.value ->> 'id')::uuid from jsonb_array_elements(member.events) as x(value)))
                 else 0 end as duplicates,
               life.status
        from member left join lateral (
          select e.version, e.transaction_id from ${events} as e
          where e.aggregate_type = member.aggregate_type and e.aggregate_id = member.aggregate_id order by e.version desc limit 1
        ) as last on true left join lateral (
          select l.status, l.truncated_before from ${lifecycle} as l where l.aggregate_type = member.aggregate_type and l.aggregate_id = member.aggregate_id
        ) as life on true
      ), inserted as (
        insert into ${events} ${columns}
        select head.aggregate_type, head.aggregate_id, head.version + x.n, x.value ->> 'type', x.value -> 'data', x.value -> 'metadata', (x.value ->> 'id')::uuid, ${schemaVersion}
        from head cross join lateral jsonb_array_elements(head.events) with ordinality as x(value, n)
        where (head.expected is null or head.version = head.expected or (head.expected = -1 and head.version > 0)) and head.duplicates = 0 and head.in_order
          and head.status is null
        order by head.aggregate_type, head.aggregate_id, x.n
        ${GROUP_RETURNING}
      )
      select head.member, head.version as head, head.in_order, head.duplicates, head.status, summary.aggregate_id, summary.tx_id, summary.created_at,
             summary.first_version, summary.sequences
      from head left join (
        select inserted.aggregate_type, inserted.aggregate_id as id, min(inserted.aggregate_id::text) as aggregate_id, min(inserted.transaction_id::text) as tx_id,
               min(inserted.created_at) as created_at, min(inserted.version) as first_version, array_agg(inserted.sequence order by inserted.version)::text as sequences
        from inserted group by inserted.aggregate_type, inserted.aggregate_id
      ) as summary on summary.aggregate_type = head.aggregate_type and summary.id = head.aggregate_id`),
  };
}

// A store makes a log per transaction (and per subscription batch) from one configuration.
const statementsByConfig = new WeakMap<AppendTarget, ReturnType<typeof appendStatements>>();

export function statementsOf(config: AppendTarget): ReturnType<typeof appendStatements> {
  let statements = statementsByConfig.get(config);
  if (statements === undefined) {
    statements = appendStatements(config);
    statementsByConfig.set(config, statements);
  }
  return statements;
}

/** The append statement's rows: the head it found, and the inserted rows (all null when it inserted none). */
export type AppendRow = { head: number; in_order: boolean; duplicates: number; status: StreamStatus | null } & { [K in keyof InsertedRow]: InsertedRow[K] | null };

/** The append statement's $4: null for "any", -1 for "exists", else the version. */
export function expectedParameter(expected: ExpectedVersion): number | null {
  return expected === "any" ? null : expected === "exists" ? -1 : expected;
}

/** The events an append stored: as given, with what the database assigned. */
export function stored(aggregateType: string, prepared: PreparedEvents, row: InsertedRow): Appended {
  const sequences = row.sequences.slice(1, -1).split(",");
  const events = prepared.events.map(
    (event, index): RecordedEvent => ({
      id: prepared.ids[index]!,
      aggregateType,
      aggregateId: row.aggregate_id,
      version: row.first_version + index,
      type: event.type,
      data: event.data,
      metadata: prepared.metadata[index]!,
      position: positionOf(row.tx_id, sequences[index]!),
      createdAt: new Date(row.created_at.getTime()),
      schemaVersion: event.schemaVersion ?? 1,
    }),
  );
  return { result: { version: events.at(-1)!.version, events }, fresh: true };
}
