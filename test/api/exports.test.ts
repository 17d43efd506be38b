import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, it } from "vitest";

/** Every name an entry point exports, types included, as the TypeScript compiler sees it. */
function exportsOf(entry: string): string[] {
  const file = fileURLToPath(new URL(`../../src/${entry}`, import.meta.url));
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  return checker.getExportsOfModule(symbol).map((exported) => exported.name).sort();
}

// Growing or shrinking the public surface is a decision: this list changes with it, on purpose.
it("exports from meowmx exactly what users call", () => {
  expect(exportsOf("index.ts")).toEqual(
    [
      "Aggregate", "AggregateConfig", "CHECK_PROGRESS_EVERY", "CurrentEvent", "EventCheckFailure", "EventCheckProgress", "EventCheckReport",
      "MAX_REPORTED_FAILURES", "UpcastConfig", "UpcastEntry", "Upcasters", "AggregateEvent", "AggregateNewEvent", "AnyAggregate", "AppendOptions", "AppendResult",
      "CONSOLE_LOGGER", "Command", "CommandResult", "ConcurrencyError", "ConnectConfig", "EncryptionKeyError", "PersonalDataEvent", "PersonalDataOptions", "personalData", "DEFAULT_AGGREGATE_ID_TYPE",
      "DEFAULT_MAX_ATTEMPTS", "DEFAULT_READ_LIMIT", "DEFAULT_SCHEMA", "EmbeddedDatabase", "EventBuilders", "EventOf", "EventSchemas",
      "EXPLORER_DEFAULTS", "EventValidationError", "ExpectedVersion", "Explorer", "ExplorerOptions", "HeldBackBy", "InvalidArgumentError", "InvalidEventError", "JsonObject",
      "JsonValue", "LoadOptions", "Loaded", "Logger", "MAX_JSON_DEPTH", "MeowmxConfig", "MeowmxError", "NewEvent",
      "NewEventOf", "PROGRESS_EVERY", "ParkedEvent", "PositionRepair", "RestoredLogError", "isRestoredLogError", "repairPositions", "Projection", "ProjectionConfig", "ProjectionEvent",
      "ProjectionReducers", "ProjectionRunner", "ProjectionStateOf", "ProjectionWorkerOptions", "ReadAllOptions",
      "ReadOptions", "ReadReplicaConfig", "RebuildOptions", "ReplicaStatus", "RebuildProgress", "RebuildResult", "RecordedEvent", "Reducers", "Repository", "SUBSCRIPTION_DEFAULTS",
      "Session", "StateOf", "Store", "StreamArchivedError", "StreamDeletedError", "StreamNotFoundError", "StreamTruncatedError", "StreamPartition", "Subscription", "SubscriptionConfig",
      "SubscriptionError", "SubscriptionStatus", "SubscribedEvent", "SubscriptionHandling", "SubscriptionOptions", "SubscriptionSource", "TransactionOptions", "TransactionSession", "UpdateOptions", "UpdateResult",
      "ValidationIssue", "causationMetadata", "connect", "defineAggregate", "defineConfig", "defineProjection", "formatIssues",
      "isConcurrencyError", "isEncryptionKeyError", "isEventValidationError", "isInvalidEventError", "isMeowmxError", "isStreamArchivedError", "isStreamDeletedError", "isStreamNotFoundError", "isStreamTruncatedError",
      "isSubscriptionError", "startExplorer", "withEventMetadata",
    ].sort(),
  );
});

it("exports from meowmx/testing exactly what tests call", () => {
  expect(exportsOf("testing/index.ts")).toEqual(
    [
      "ArbitraryEventsOptions", "ArbitraryOptions", "CheckAggregateOptions", "CheckProjectionOptions", "CheckUpcastersOptions", "checkUpcasters", "ErrorMatcher", "Given",
      "MAX_REJECTIONS_IN_A_ROW", "Outcome", "UnsupportedSchemaError", "arbitraryEvent", "arbitraryEventData", "arbitraryEvents",
      "checkAggregate", "checkProjection", "given",
    ].sort(),
  );
});
