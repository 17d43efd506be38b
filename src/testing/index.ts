// What tests call, by name. fast-check is loaded here only: the main entry never imports this one.

export { MAX_REJECTIONS_IN_A_ROW, UnsupportedSchemaError, arbitraryEvent, arbitraryEventData, arbitraryEvents } from "./arbitraries.js";
export type { ArbitraryEventsOptions, ArbitraryOptions } from "./arbitraries.js";
export { checkAggregate } from "./check-aggregate.js";
export type { CheckAggregateOptions } from "./check-aggregate.js";
export { checkProjection } from "./check-projection.js";
export type { CheckUpcastersOptions } from "./check-upcasters.js";
export { checkUpcasters } from "./check-upcasters.js";
export type { CheckProjectionOptions } from "./check-projection.js";
export { given } from "./given.js";
export type { ErrorMatcher, Given, Outcome } from "./given.js";
