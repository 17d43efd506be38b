export * from "./errors.js";
export * from "./json.js";
export * from "./logger.js";
export * from "./event-store/events.js";
export * from "./event-store/position.js";
export * from "./store/connect.js";
export * from "./store/session.js";
export * from "./store/store.js";
