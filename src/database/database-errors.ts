import { ConcurrencyError } from "../errors.js";

/** The SQLSTATE codes meowmx reacts to. */
export const SQLSTATE = {
  uniqueViolation: "23505",
  invalidTextRepresentation: "22P02",
  stringDataRightTruncation: "22001",
  numericValueOutOfRange: "22003",
  invalidDatetimeFormat: "22007",
  characterNotInRepertoire: "22021",
  serializationFailure: "40001",
  deadlockDetected: "40P01",
  inFailedSqlTransaction: "25P02",
} as const;

/** The SQLSTATE of a database error from pg or PGlite, or undefined for any other error. */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when PostgreSQL refused a value for its column type (a bad uuid, too long for char(n), ...). */
export function isBadValueForType(error: unknown): boolean {
  const state = sqlStateOf(error);
  return (
    state === SQLSTATE.invalidTextRepresentation ||
    state === SQLSTATE.stringDataRightTruncation ||
    state === SQLSTATE.numericValueOutOfRange ||
    state === SQLSTATE.invalidDatetimeFormat ||
    state === SQLSTATE.characterNotInRepertoire
  );
}

/**
 * True when a transaction failed only because of concurrent ones and would succeed if run again
 * from the start: a deadlock, a serialization failure, or an append that must come after a newer
 * transaction's.
 */
export function needsNewTransaction(error: unknown): boolean {
  if (error instanceof ConcurrencyError) return error.needsNewTransaction;
  const state = sqlStateOf(error);
  return state === SQLSTATE.serializationFailure || state === SQLSTATE.deadlockDetected;
}

// Errors that say the server cannot be reached or has gone, rather than that a statement failed.
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i;

/**
 * True when `error` says the server could not be reached or ended the connection: refused, reset,
 * timed out, shutting down, starting up (SQLSTATE classes 08 and 57P0x).
 */
export function isConnectionLost(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const state = sqlStateOf(error);
  if (state !== undefined) return state.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P03";
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" && CONNECTION_MESSAGES.test(message);
}
