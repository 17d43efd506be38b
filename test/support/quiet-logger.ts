import type { Logger } from "../../src/index.js";

/** A logger for tests: background warnings are expected there (retries, parked events), errors are not. */
export const QUIET: Logger = { info: () => {}, warn: () => {}, error: (message, details) => console.error(message, details ?? "") };

/** A logger like {@link QUIET} that keeps its warnings, for tests of what meowmx warns about. */
export function recordingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  return { ...QUIET, warnings, warn: (message) => void warnings.push(message) };
}
