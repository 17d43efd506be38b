import type { ColumnType, Generated } from "kysely";
import type { JsonValue } from "../json.js";

/** The events table: the log itself. */
export interface EventsTable {
  sequence: Generated<string>;
  transaction_id: Generated<string>;
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  type: string;
  data: ColumnType<unknown, string, string>;
  metadata: ColumnType<Record<string, unknown>, string, string>;
  event_id: string;
  created_at: Generated<Date>;
}

/** The latest snapshot of each stream whose aggregate asks for snapshots. */
export interface SnapshotsTable {
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  schema_key: string;
  state: ColumnType<unknown, string, string>;
  created_at: Generated<Date>;
}

/** One durable checkpoint per subscription name and partition, with its lease. */
export interface SubscriptionsTable {
  name: string;
  partition: number;
  partitions: number;
  transaction_id: Generated<string>;
  sequence: Generated<string>;
  owner: string | null;
  lease_until: Date | null;
  last_error: string | null;
  updated_at: Generated<Date>;
}

/** Events a subscription gave up on and moved past (`onError: "park"`). */
export interface ParkedEventsTable {
  subscription: string;
  transaction_id: string;
  sequence: string;
  error: string;
  attempts: number;
  parked_at: Generated<Date>;
}

/** Projection states, one row per projection and key. */
export interface ProjectionStatesTable {
  name: string;
  key: string;
  state: ColumnType<JsonValue, string, string>;
  position: string;
  updated_at: Generated<Date>;
}

/** The tables meowmx owns, as Kysely sees them (all in the configured schema). */
export interface MeowmxTables {
  events: EventsTable;
  snapshots: SnapshotsTable;
  subscriptions: SubscriptionsTable;
  parked_events: ParkedEventsTable;
  projection_states: ProjectionStatesTable;
}
