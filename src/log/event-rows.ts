import { sql } from "kysely";
import type { RecordedEvent } from "./events.js";
import { positionOf } from "./position.js";

/** The part of a stored event that folding needs, with its stream. */
export type EventData = Pick<RecordedEvent, "aggregateType" | "aggregateId" | "version" | "type" | "data" | "schemaVersion">;

export interface EventRow {
  event_id: string;
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  tx_id: string;
  seq: string;
  created_ms: number;
  schema_version: number;
}

// The time comes as epoch milliseconds: parsing timestamps on the client cost more than the rest of
// the row. Text casts get names of their own: an output column named "sequence" would make
// "order by sequence" sort the text, putting 10 before 9.
export const EVENT_COLUMNS = sql.raw(
  `event_id::text, aggregate_type, aggregate_id::text, version, type, data, metadata, transaction_id::text as tx_id,
   sequence::text as seq, date_part('epoch', created_at) * 1000 as created_ms, schema_version`,
);

/** A stored row as the event it is. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    version: row.version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    position: positionOf(row.tx_id, row.seq),
    createdAt: new Date(row.created_ms),
    schemaVersion: row.schema_version,
  };
}
