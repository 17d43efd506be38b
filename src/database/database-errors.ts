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
