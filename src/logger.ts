/** Where meowmx reports what happens in the background (workers, wake-ups, retries). */
export interface Logger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** The default logger: warnings and errors to the console, nothing else. */
export const CONSOLE_LOGGER: Logger = {
  info: () => {},
  warn: (message, details) => console.warn(`meowmx: ${message}`, details ?? ""),
  error: (message, details) => console.error(`meowmx: ${message}`, details ?? ""),
};
