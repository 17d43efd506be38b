export * from "./arbitraries.js";
export * from "./check-aggregate.js";
export * from "./given.js";
export * from "./check-projection.js";
