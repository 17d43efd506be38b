import type { ColumnType, Generated } from "kysely";

// The shapes of meowmx's tables as the migrations leave them (src/migrations/migrations.ts), for a
// typed Kysely. xid8 and bigint columns travel as text; jsonb is written as JSON text.

type Json = ColumnType<unknown, string, string>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface EventsTable {
  sequence: Generated<string>;
  transaction_id: Defaulted<string>;
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  type: string;
  data: Json;
  metadata: Defaulted<unknown>;
  event_id: string;
  created_at: Defaulted<Date>;
  schema_version: Defaulted<number>;
}

/** Where events of archived streams wait, as they were in `events`. */
export interface ArchivedEventsTable {
  sequence: string;
  transaction_id: string;
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  type: string;
  data: Json;
  metadata: unknown;
  event_id: string;
  created_at: Date;
  schema_version: number;
}

export interface StreamLifecycleTable {
  aggregate_type: string;
  aggregate_id: string;
  status: "archived" | "deleted" | null;
  truncated_before: number | null;
  changed_at: Defaulted<Date>;
}

export interface PersonalDataKeysTable {
  subject: string;
  key_id: string;
  key: Buffer;
  wrapped: boolean;
  created_at: Defaulted<Date>;
}

export interface PersonalDataStreamsTable {
  key_id: string;
  aggregate_type: string;
  aggregate_id: string;
}

export interface StreamsView {
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface SnapshotsTable {
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  schema_key: string;
  state: Json;
  created_at: Defaulted<Date>;
}

export interface SubscriptionsTable {
  name: string;
  partition: number;
  partitions: number;
  transaction_id: Defaulted<string>;
  sequence: Defaulted<string>;
  owner: string | null;
  lease_until: Date | null;
  last_error: string | null;
  updated_at: Defaulted<Date>;
  aggregate_types: string[] | null;
  attempt_transaction_id: string | null;
  attempt_sequence: string | null;
  attempts: Defaulted<number>;
  attempt_limit: number | null;
}

export interface ParkedEventsTable {
  subscription: string;
  transaction_id: string;
  sequence: string;
  error: string;
  attempts: number;
  parked_at: Defaulted<Date>;
}

export interface ProjectionStatesTable {
  name: string;
  key: string;
  state: Json;
  position: string;
  updated_at: Defaulted<Date>;
}

export interface ProjectionsTable {
  name: string;
  version: number;
  rebuilt_at: Date | null;
}

export interface ProjectionRebuildsTable {
  id: string;
  name: string;
  started_at: Defaulted<Date>;
  heartbeat_at: Defaulted<Date>;
}

/** meowmx's tables, for `Kysely<MeowmxTables>` (under the store's schema: `db.withSchema(schema)`). */
export interface MeowmxTables {
  events: EventsTable;
  archived_events: ArchivedEventsTable;
  stream_lifecycle: StreamLifecycleTable;
  personal_data_keys: PersonalDataKeysTable;
  personal_data_streams: PersonalDataStreamsTable;
  streams: StreamsView;
  snapshots: SnapshotsTable;
  subscriptions: SubscriptionsTable;
  parked_events: ParkedEventsTable;
  projection_states: ProjectionStatesTable;
  projection_rebuild_states: ProjectionStatesTable;
  projections: ProjectionsTable;
  projection_rebuilds: ProjectionRebuildsTable;
}
