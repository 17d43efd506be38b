// What users call, by name. Everything else (the log's gateways, position encoding, the contexts
// that wire a store together) is internal and may change in any release.

export {
  ConcurrencyError,
  EncryptionKeyError,
  EventValidationError,
  InvalidArgumentError,
  InvalidEventError,
  MeowmxError,
  RestoredLogError,
  StreamArchivedError,
  StreamDeletedError,
  StreamNotFoundError,
  StreamTruncatedError,
  SubscriptionError,
  formatIssues,
  isConcurrencyError,
  isEncryptionKeyError,
  isEventValidationError,
  isInvalidEventError,
  isMeowmxError,
  isRestoredLogError,
  isStreamArchivedError,
  isStreamDeletedError,
  isStreamNotFoundError,
  isStreamTruncatedError,
  isSubscriptionError,
} from "./errors.js";
export type { ValidationIssue } from "./errors.js";
export { MAX_JSON_DEPTH } from "./json.js";
export type { JsonObject, JsonValue } from "./json.js";
export { CONSOLE_LOGGER } from "./logger.js";
export type { Logger } from "./logger.js";
export { DEFAULT_READ_LIMIT } from "./log/events.js";
export { withEventMetadata } from "./log/event-metadata.js";
export type {
  AppendOptions,
  AppendResult,
  ExpectedVersion,
  LoadOptions,
  NewEvent,
  ReadAllOptions,
  ReadOptions,
  RecordedEvent,
  StreamPartition,
} from "./log/events.js";
export { DEFAULT_AGGREGATE_ID_TYPE, DEFAULT_SCHEMA, connect, repairPositions } from "./store/connect.js";
export type { PositionRepair } from "./migrations/restored-log.js";
export type { ConnectConfig, ReadReplicaConfig } from "./store/connect.js";
export type { ReplicaStatus } from "./database/read-replica.js";
export type { EmbeddedDatabase } from "./database/embedded-connection.js";
export type { Session } from "./store/session.js";
export type { Store, TransactionOptions, TransactionSession } from "./store/store.js";
export { defineAggregate } from "./aggregates/define-aggregate.js";
export { personalData } from "./aggregates/personal-data.js";
export type { PersonalDataOptions } from "./aggregates/personal-data.js";
export { CHECK_PROGRESS_EVERY, MAX_REPORTED_FAILURES } from "./aggregates/check-events.js";
export type { EventCheckFailure, EventCheckProgress, EventCheckReport } from "./aggregates/check-events.js";
export type { CurrentEvent, UpcastConfig, UpcastEntry, Upcasters } from "./aggregates/upcast.js";
export type {
  Aggregate,
  AggregateConfig,
  AggregateEvent,
  AggregateNewEvent,
  EventBuilders,
  EventOf,
  EventSchemas,
  NewEventOf,
  Reducers,
  StateOf,
} from "./aggregates/define-aggregate.js";
export type { Command, CommandResult } from "./repositories/command.js";
export { DEFAULT_MAX_ATTEMPTS } from "./repositories/repository.js";
export type { Loaded, Repository, UpdateOptions, UpdateResult } from "./repositories/repository.js";
export type { HeldBackBy, ParkedEvent, SubscriptionStatus } from "./tables/subscription-status.js";
export { SUBSCRIPTION_DEFAULTS } from "./subscriptions/subscription-config.js";
export { causationMetadata } from "./log/event-metadata.js";
export type { Subscription } from "./subscriptions/subscription.js";
export type {
  SubscribedEvent,
  SubscriptionConfig,
  SubscriptionHandling,
  SubscriptionOptions,
  SubscriptionSource,
} from "./subscriptions/subscription-config.js";
export { defineProjection } from "./projections/define-projection.js";
export type { Projection, ProjectionConfig, ProjectionReducers, ProjectionStateOf } from "./projections/define-projection.js";
export type { AnyAggregate, PersonalDataEvent, ProjectionEvent } from "./aggregates/define-aggregate.js";
export { PROGRESS_EVERY } from "./projections/projection-runner.js";
export type { ProjectionRunner, ProjectionWorkerOptions, RebuildOptions, RebuildProgress, RebuildResult } from "./projections/projection-runner.js";
export { defineConfig } from "./config.js";
export type { MeowmxConfig } from "./config.js";
export { startExplorer } from "./explorer/explorer.js";
export { EXPLORER_DEFAULTS } from "./explorer/options.js";
export type { Explorer, ExplorerOptions } from "./explorer/options.js";
