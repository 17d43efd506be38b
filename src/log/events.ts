import type { JsonObject, JsonValue } from "../json.js";

/**
 * An event to append. `id` (a uuid) makes the append retry-safe: an event whose id is already
 * stored in the stream is not stored again.
 */
export interface NewEvent<T extends string = string, D = JsonValue> {
  readonly type: T;
  readonly data: D;
  readonly metadata?: JsonObject;
  readonly id?: string;
  /** The version of its type's schema the data is written in; default 1. Set by aggregates' builders. */
  readonly schemaVersion?: number;
}

/** An event as stored in the log. */
export interface RecordedEvent<T = string, D = unknown> {
  /** The event's uuid. */
  readonly id: string;
  /** The stream's category, e.g. "order". */
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** 1-based position in its stream. */
  readonly version: number;
  readonly type: T;
  readonly data: D;
  /** Includes correlationId / causationId when they were given. */
  readonly metadata: Record<string, unknown>;
  /** Opaque cursor in global commit order; pass it as `after` to read what follows. */
  readonly position: string;
  readonly createdAt: Date;
  /** The version of its type's schema the data was written in (1 for events written before versions existed). */
  readonly schemaVersion: number;
}

/** What an append settles to: the stream's new version and the events as stored. */
export interface AppendResult {
  readonly version: number;
  readonly events: RecordedEvent[];
}

/** `number`: the stream must hold exactly that many events (0: it must not exist); `"exists"`: at least one; `"any"`: no check. */
export type ExpectedVersion = number | "any" | "exists";

/** Options of `append`. */
export interface AppendOptions {
  /** Default "any". */
  readonly expectedVersion?: ExpectedVersion;
}

/** Options of `load`: a slice of one stream. */
export interface LoadOptions {
  /** The first version to return (inclusive); default 1. */
  readonly fromVersion?: number;
  /** The last version to return (inclusive); default the stream's end. */
  readonly toVersion?: number;
  /** At most this many events. */
  readonly limit?: number;
  /** "forward" (default) from old to new, "backward" from new to old. */
  readonly direction?: "forward" | "backward";
}

/** Options of `read`: a page of the global log in commit order. */
export interface ReadOptions {
  /** Only these categories; default all. */
  readonly aggregateTypes?: ReadonlyArray<string>;
  /** Return events after this cursor (a `RecordedEvent.position`); default the start. */
  readonly after?: string;
  /** Return events before this cursor; default the end. */
  readonly before?: string;
  /** "forward" (default): oldest first; "backward": newest first. */
  readonly direction?: "forward" | "backward";
  /** At most this many events; default {@link DEFAULT_READ_LIMIT}. */
  readonly limit?: number;
  /** Only streams whose id hashes into this partition, as `subscribe({ partitions })` splits them. */
  readonly partition?: StreamPartition;
}

/** One of `count` parts of the streams, split by a stable hash of the aggregate id. */
export interface StreamPartition {
  /** 0 to count - 1. */
  readonly index: number;
  readonly count: number;
}

/** Options of `readAll`. */
export interface ReadAllOptions {
  readonly aggregateTypes?: ReadonlyArray<string>;
  readonly after?: string;
  readonly partition?: StreamPartition;
  /** Events fetched per round trip; default {@link DEFAULT_READ_LIMIT}. */
  readonly pageSize?: number;
}

/** How many events `read` returns when no limit is given, and `readAll`'s page size. */
export const DEFAULT_READ_LIMIT = 1000;
