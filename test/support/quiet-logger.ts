import type { Logger } from "../../src/index.js";

/** A logger for tests: background warnings are expected there (retries, parked events), errors are not. */
export const QUIET: Logger = { info: () => {}, warn: () => {}, error: (message, details) => console.error(message, details ?? "") };
