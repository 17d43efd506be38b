import { quoteIdentifier } from "../database/identifiers.js";

/** What a migration's statements are written for. */
export interface MigrationTarget {
  /** The schema meowmx's tables live in. */
  readonly schema: string;
  /** The SQL type of aggregate ids, checked by `assertTypeName`. */
  readonly aggregateIdType: string;
}

/** One versioned step of the schema, as plain SQL statements. */
export interface MeowmxMigration {
  /** Sorts the migrations; recorded in the migration table once applied. */
  readonly name: string;
  readonly statements: (target: MigrationTarget) => string[];
}

/**
 * SQL assignments that forget a subscription row's batch attempt (the columns of migration
 * 0007_subscription_attempts): wherever its checkpoint moves, the attempt it recorded no longer applies.
 */
export const FORGET_ATTEMPT = "attempt_transaction_id = null, attempt_sequence = null, attempts = 0, attempt_limit = null";

/**
 * Every migration, oldest first. A released migration is never edited: changes come as new entries,
 * so that databases created by older versions upgrade step by step. Each only expands (new tables,
 * new columns that are nullable or have a default, new indexes): the previous release keeps working
 * on the migrated schema during a rolling deploy, as test/migrations/rolling-upgrade.test.ts checks
 * with its packed copy. A column or table is removed only once no release that uses it runs.
 */
export const MIGRATIONS: ReadonlyArray<MeowmxMigration> = [
  {
    name: "0001_event_log",
    statements: ({ schema, aggregateIdType }) => {
      const s = quoteIdentifier(schema);
      return [
        // The primary key is the global commit order that readers scan; the unique key carries the
        // optimistic concurrency check and loads by stream. No other index is paid for on append but
        // the category one.
        `create table ${s}.events (
  sequence bigint generated always as identity,
  transaction_id xid8 not null default pg_current_xact_id(),
  aggregate_type text not null,
  aggregate_id ${aggregateIdType} not null,
  version integer not null check (version > 0),
  type text not null,
  data jsonb not null,
  metadata jsonb not null default '{}',
  event_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (transaction_id, sequence),
  unique (aggregate_type, aggregate_id, version)
)`,
        `create index events_category_idx on ${s}.events (aggregate_type, transaction_id, sequence)`,
        `create view ${s}.streams as
  select aggregate_type, aggregate_id, max(version) as version, min(created_at) as created_at, max(created_at) as updated_at
  from ${s}.events group by aggregate_type, aggregate_id`,
        `create table ${s}.snapshots (
  aggregate_type text not null,
  aggregate_id ${aggregateIdType} not null,
  version integer not null,
  schema_key text not null,
  state jsonb not null,
  created_at timestamptz not null default now(),
  primary key (aggregate_type, aggregate_id)
)`,
        `create table ${s}.subscriptions (
  name text not null,
  partition integer not null,
  partitions integer not null,
  transaction_id xid8 not null default '0',
  sequence bigint not null default 0,
  owner text,
  lease_until timestamptz,
  last_error text,
  updated_at timestamptz not null default now(),
  primary key (name, partition)
)`,
        `create table ${s}.parked_events (
  subscription text not null,
  transaction_id xid8 not null,
  sequence bigint not null,
  error text not null,
  attempts integer not null,
  parked_at timestamptz not null default now(),
  primary key (subscription, transaction_id, sequence)
)`,
        `create table ${s}.projection_states (
  name text not null,
  key text not null,
  state jsonb not null,
  position text not null,
  updated_at timestamptz not null default now(),
  primary key (name, key)
)`,
      ];
    },
  },
  {
    name: "0002_subscription_filters",
    // Kept with the checkpoint so that operators' tools can tell a subscription's lag.
    statements: ({ schema }) => [`alter table ${quoteIdentifier(schema)}.subscriptions add column aggregate_types text[]`],
  },
  {
    name: "0003_projection_versions",
    // The definition version each projection's states were built with: a new one means a rebuild.
    statements: ({ schema }) => [
      `create table ${quoteIdentifier(schema)}.projections (
  name text primary key,
  version integer not null,
  rebuilt_at timestamptz
)`,
    ],
  },
  {
    name: "0004_correlation_index",
    // Partial: an event without a correlation id adds nothing to it, so plain appends do not pay.
    statements: ({ schema }) => [
      `create index events_correlation_idx on ${quoteIdentifier(schema)}.events ((metadata ->> 'correlationId')) where metadata ? 'correlationId'`,
    ],
  },
  {
    name: "0005_schema_versions",
    // Which version of its type's schema each event's data is in; what was stored before is version 1.
    // A constant default: the column is added without rewriting the table, and older code that
    // leaves it out of its inserts keeps working.
    statements: ({ schema }) => [`alter table ${quoteIdentifier(schema)}.events add column schema_version integer not null default 1 check (schema_version > 0)`],
  },
  {
    name: "0006_projection_rebuilds",
    // A rebuild folds into its own rows in batches, then swaps them in: its memory stays bounded.
    // Unlogged: what a crash loses is a rebuild in progress, which fails with it anyway.
    statements: ({ schema }) => [
      `create table ${quoteIdentifier(schema)}.projection_rebuilds (
  id text primary key,
  name text not null,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
)`,
      // The shape of projection_states; name is the rebuild's id.
      `create unlogged table ${quoteIdentifier(schema)}.projection_rebuild_states (like ${quoteIdentifier(schema)}.projection_states including all)`,
    ],
  },
  {
    name: "0007_subscription_attempts",
    // Where a batch started that has not ended yet, how many events it could hold, and how often a
    // batch of one event started there: a handler that ends its process is counted like one that throws.
    statements: ({ schema }) => [
      `alter table ${quoteIdentifier(schema)}.subscriptions
  add column attempt_transaction_id xid8,
  add column attempt_sequence bigint,
  add column attempts integer not null default 0,
  add column attempt_limit integer`,
    ],
  },
  {
    name: "0008_stream_lifecycle",
    // A stream's life beyond its events: archived or deleted (a tombstone that refuses appends), and
    // where a truncation left it (its versions below truncated_before are gone). A row only for a
    // stream that has had one of these: the append statement's lookup finds nothing for the rest.
    // Archived events move to a table of their own, so that the log's readers and indexes never
    // pass over them.
    statements: ({ schema, aggregateIdType }) => {
      const s = quoteIdentifier(schema);
      return [
        `create table ${s}.stream_lifecycle (
  aggregate_type text not null,
  aggregate_id ${aggregateIdType} not null,
  status text check (status in ('archived', 'deleted')),
  truncated_before integer check (truncated_before > 1),
  changed_at timestamptz not null default now(),
  primary key (aggregate_type, aggregate_id)
)`,
        `create table ${s}.archived_events (
  sequence bigint not null,
  transaction_id xid8 not null,
  aggregate_type text not null,
  aggregate_id ${aggregateIdType} not null,
  version integer not null,
  type text not null,
  data jsonb not null,
  metadata jsonb not null,
  event_id uuid not null,
  created_at timestamptz not null,
  schema_version integer not null,
  primary key (aggregate_type, aggregate_id, version)
)`,
      ];
    },
  },
  {
    name: "0009_personal_data",
    // One data key per subject, wrapped when the store has an encryptionKey; forgetting a subject
    // deletes its row. Which streams hold values sealed with each key: what a forget must invalidate.
    statements: ({ schema, aggregateIdType }) => {
      const s = quoteIdentifier(schema);
      return [
        `create table ${s}.personal_data_keys (
  subject text primary key,
  key_id uuid not null unique,
  key bytea not null,
  wrapped boolean not null,
  created_at timestamptz not null default now()
)`,
        `create table ${s}.personal_data_streams (
  key_id uuid not null,
  aggregate_type text not null,
  aggregate_id ${aggregateIdType} not null,
  primary key (key_id, aggregate_type, aggregate_id)
)`,
      ];
    },
  },
];
