/**
 * The family of errors meowmx throws. Each has a stable `code` and a type guard.
 *
 * @example
 * ```ts
 * import { connect, isConcurrencyError } from "meowmx";
 * const store = await connect();
 * try {
 *   await store.append("order", "o-1", [{ type: "OrderCreated", data: {} }], { expectedVersion: 3 });
 * } catch (error) {
 *   if (isConcurrencyError(error)) console.log(error.actualVersion);
 * }
 * ```
 */
export class MeowmxError extends Error {
  /** A stable, machine-readable name for the kind of failure. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Someone else wrote to the stream first: its version is not the expected one, or (inside a
 * transaction) a transaction that began later appended to it already, and only running the whole
 * transaction again can append after that (`needsNewTransaction`).
 */
export class ConcurrencyError extends MeowmxError {
  /** Retrying within the same transaction cannot succeed; `store.transaction`'s maxAttempts can. */
  readonly needsNewTransaction: boolean;

  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    readonly expectedVersion: number | "any" | "exists",
    readonly actualVersion: number,
    options: { needsNewTransaction?: boolean; reason?: string; cause?: unknown } = {},
  ) {
    super("CONCURRENCY", `stream ${aggregateType}/${aggregateId}: ${options.reason ?? (expectedVersion === "exists" ? "it does not exist, and it was expected to" : `it is at version ${actualVersion}, expected ${expectedVersion}`)}`, {
      cause: options.cause,
    });
    this.needsNewTransaction = options.needsNewTransaction ?? false;
  }
}

/** One problem found by an event schema, in zod's shape. */
export interface ValidationIssue {
  /** Where in the event data the problem is. */
  readonly path: ReadonlyArray<PropertyKey>;
  /** The kind of problem, e.g. "invalid_type". */
  readonly code: string;
  /** A human-readable description. */
  readonly message: string;
}

/** An event did not match its zod schema (on append or on load), or its type is unknown. */
export class EventValidationError extends MeowmxError {
  readonly aggregateType: string;
  readonly aggregateId: string | undefined;
  readonly eventType: string;
  readonly version: number | undefined;
  /** The schema version the event was stored in, when it was read from the log. */
  readonly schemaVersion: number | undefined;
  /** The upcast step that failed (1: from schema version 1 to 2), when one did. */
  readonly step: number | undefined;
  readonly issues: ReadonlyArray<ValidationIssue>;

  constructor(details: {
    aggregateType: string;
    aggregateId?: string | undefined;
    eventType: string;
    version?: number | undefined;
    schemaVersion?: number | undefined;
    step?: number | undefined;
    issues: ReadonlyArray<ValidationIssue>;
  }) {
    const where = details.aggregateId === undefined ? details.aggregateType : `${details.aggregateType}/${details.aggregateId}`;
    const at = details.version === undefined ? "" : ` at version ${details.version}`;
    const stored = details.schemaVersion === undefined ? "" : ` (stored at schema version ${details.schemaVersion})`;
    const step = details.step === undefined ? "" : ` in upcast step ${details.step} (${details.step} -> ${details.step + 1})`;
    super("EVENT_VALIDATION", `invalid ${details.eventType} event in ${where}${at}${stored}${step}:\n${formatIssues(details.issues)}`);
    this.aggregateType = details.aggregateType;
    this.aggregateId = details.aggregateId;
    this.eventType = details.eventType;
    this.version = details.version;
    this.schemaVersion = details.schemaVersion;
    this.step = details.step;
    this.issues = details.issues;
  }
}

/** Input that can never be stored: data that is not JSON, an empty or over-long type, an id that does not fit. */
export class InvalidEventError extends MeowmxError {
  constructor(message: string, options?: ErrorOptions) {
    super("INVALID_EVENT", message, options);
  }
}

/** An argument other than an event was malformed: a position cursor, an option, a name. */
export class InvalidArgumentError extends MeowmxError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** A stream that had to exist does not. */
export class StreamNotFoundError extends MeowmxError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super("STREAM_NOT_FOUND", `stream ${aggregateType}/${aggregateId} does not exist`);
  }
}

/** An archived stream's events are hidden and it takes no appends until `restoreStream`. */
export class StreamArchivedError extends MeowmxError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super("STREAM_ARCHIVED", `stream ${aggregateType}/${aggregateId} is archived: restore it to append to it`);
  }
}

/** A deleted stream left a tombstone: it takes no appends, and its id cannot be used again. */
export class StreamDeletedError extends MeowmxError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super("STREAM_DELETED", `stream ${aggregateType}/${aggregateId} was deleted`);
  }
}

/** The events a state needs were truncated away, and no snapshot covers them. */
export class StreamTruncatedError extends MeowmxError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    /** The stream's first version left. */
    readonly truncatedBefore: number,
    /** The version the state was folded to before the missing events. */
    readonly loadedVersion: number,
  ) {
    super(
      "STREAM_TRUNCATED",
      `stream ${aggregateType}/${aggregateId} was truncated before version ${truncatedBefore}: its state needs a snapshot at version ${truncatedBefore - 1} or later, ` +
        `and the newest one is at ${loadedVersion === 0 ? "none" : loadedVersion}`,
    );
  }
}

/** Personal data cannot be read with this store's `encryptionKey`: none was given, or another one wrapped the keys. */
export class EncryptionKeyError extends MeowmxError {
  constructor(message: string, options?: ErrorOptions) {
    super("ENCRYPTION_KEY", message, options);
  }
}

/** A subscription stopped because a handler kept failing on an event. */
export class SubscriptionError extends MeowmxError {
  constructor(
    readonly subscription: string,
    message: string,
    readonly position?: string,
    options?: ErrorOptions,
  ) {
    super("SUBSCRIPTION", `subscription ${subscription}: ${message}`, options);
  }
}

/**
 * The stored log carries transaction ids above this cluster's own: it was copied logically (pg_dump
 * and restore, logical replication, a managed-service migration) from another cluster, and readers,
 * which return only events older than every running transaction, would see none of it.
 */
export class RestoredLogError extends MeowmxError {
  constructor(
    readonly schema: string,
    /** The newest stored event's transaction id. */
    readonly newestTransactionId: string,
    /** The transaction id this cluster gives next. */
    readonly nextTransactionId: string,
  ) {
    super(
      "RESTORED_LOG",
      `the events in schema ${schema} were written by another PostgreSQL cluster: the newest has transaction id ${newestTransactionId}, ` +
        `and this cluster is only at ${nextTransactionId} (a logical copy: pg_dump and restore, logical replication). ` +
        `Until repaired, readers would see none of them and new events would sort before them. ` +
        `Repair before anything appends: npx meowmx repair-positions (see the operations guide, "Backup and restore")`,
    );
  }
}

/** Renders validation issues one per line: `data.total: Too small: expected number to be >=0`. */
export function formatIssues(issues: ReadonlyArray<ValidationIssue>): string {
  return issues
    .map((issue) => `  - ${issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")}: ${issue.message}`)
    .join("\n");
}

/** True when `error` is any meowmx error. */
export const isMeowmxError = (error: unknown): error is MeowmxError => error instanceof MeowmxError;
/** True when `error` is a {@link ConcurrencyError}. */
export const isConcurrencyError = (error: unknown): error is ConcurrencyError => error instanceof ConcurrencyError;
/** True when `error` is an {@link EventValidationError}. */
export const isEventValidationError = (error: unknown): error is EventValidationError =>
  error instanceof EventValidationError;
/** True when `error` is an {@link InvalidEventError}. */
export const isInvalidEventError = (error: unknown): error is InvalidEventError => error instanceof InvalidEventError;
/** True when `error` is a {@link StreamNotFoundError}. */
export const isStreamNotFoundError = (error: unknown): error is StreamNotFoundError =>
  error instanceof StreamNotFoundError;
/** True when `error` is a {@link StreamArchivedError}. */
export const isStreamArchivedError = (error: unknown): error is StreamArchivedError => error instanceof StreamArchivedError;
/** True when `error` is a {@link StreamDeletedError}. */
export const isStreamDeletedError = (error: unknown): error is StreamDeletedError => error instanceof StreamDeletedError;
/** True when `error` is a {@link StreamTruncatedError}. */
export const isStreamTruncatedError = (error: unknown): error is StreamTruncatedError => error instanceof StreamTruncatedError;
/** True when `error` is an {@link EncryptionKeyError}. */
export const isEncryptionKeyError = (error: unknown): error is EncryptionKeyError => error instanceof EncryptionKeyError;
/** True when `error` is a {@link RestoredLogError}. */
export const isRestoredLogError = (error: unknown): error is RestoredLogError => error instanceof RestoredLogError;
/** True when `error` is a {@link SubscriptionError}. */
export const isSubscriptionError = (error: unknown): error is SubscriptionError => error instanceof SubscriptionError;
