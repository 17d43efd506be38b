// What callers give the log: its arguments checked, and a batch of new events checked and prepared
// for the append statement, before anything is written.
import { randomUUID } from "node:crypto";
import { assertWholeNumber } from "../arguments.js";
import { InvalidArgumentError, InvalidEventError } from "../errors.js";
import { assertJson, type JsonObject } from "../json.js";
import type { ExpectedVersion, NewEvent } from "./events.js";

/** The longest aggregate type or event type accepted, in characters. */
export const MAX_TYPE_LENGTH = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Events ready for the append statement: checked, with ids, serialised once. */
export interface PreparedEvents {
  /** The events as a JSON array of `{ type, data, metadata, id }`. */
  readonly json: string;
  /** Each event's id, given or generated, in order. */
  readonly ids: string[];
  /** Whether any id was given by the caller, so that the append must look for it in the stream. */
  readonly idsGiven: boolean;
  readonly events: ReadonlyArray<NewEvent<string, unknown>>;
  /** Each event's metadata as stored: its own, over the inherited fields. */
  readonly metadata: ReadonlyArray<Record<string, unknown>>;
}

/** The highest schema version an event can be stored in (the column is a PostgreSQL integer). */
const MAX_SCHEMA_VERSION = 2_147_483_647;

/** Checks an aggregate type or event type: a non-empty, well-formed string of at most {@link MAX_TYPE_LENGTH}. */
export function assertTypeString(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidEventError(`${what} must be a non-empty string, got ${describe(value)}`);
  }
  if (value.length > MAX_TYPE_LENGTH) {
    throw new InvalidEventError(`${what} is ${value.length} characters long; at most ${MAX_TYPE_LENGTH} are allowed`);
  }
  if (value.includes("\u0000") || !value.isWellFormed()) {
    throw new InvalidEventError(`${what} contains a NUL character or a lone surrogate`);
  }
}

/**
 * Checks an aggregate id against what every id type needs (a non-empty string PostgreSQL can hold)
 * and, for uuid columns, the uuid form. Other column types are checked by PostgreSQL itself, and a
 * failed cast is reported as {@link InvalidEventError} too.
 */
export function assertAggregateId(value: unknown, idType: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidEventError(`aggregate id must be a non-empty string, got ${describe(value)}`);
  }
  if (value.includes("\u0000") || !value.isWellFormed()) {
    throw new InvalidEventError("aggregate id contains a NUL character or a lone surrogate");
  }
  if (idType === "uuid" && !UUID.test(value)) {
    throw new InvalidEventError(`aggregate id ${JSON.stringify(value)} is not a uuid, as the aggregate id type requires`);
  }
}

/** Checks `expectedVersion`: "any", "exists" or a whole number of events, at least 0. */
export function assertExpectedVersion(value: unknown): asserts value is ExpectedVersion {
  if (value === "any" || value === "exists") return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`expectedVersion must be "any", "exists" or a whole number >= 0, got ${describe(value)}`);
  }
}

/** Whether a stream at version `head` is as `expected` says. */
export function versionMatches(expected: ExpectedVersion, head: number): boolean {
  return expected === "any" || (expected === "exists" ? head > 0 : head === expected);
}

/**
 * Checks every event and serialises the batch, each event's metadata over the `inherited` fields;
 * throws before anything is written.
 */
export function prepareEvents(events: ReadonlyArray<NewEvent<string, unknown>>, inherited: JsonObject | undefined): PreparedEvents {
  if (!Array.isArray(events)) throw new InvalidEventError(`events must be an array, got ${describe(events)}`);
  const ids: string[] = [];
  const given = new Set<string>();
  const rows: Array<{ type: string; data: unknown; metadata: Record<string, unknown>; id: string; schemaVersion?: number }> = [];
  events.forEach((event: NewEvent<string, unknown>, index) => {
    const where = `event ${index}`;
    if (typeof event !== "object" || event === null) throw new InvalidEventError(`${where} is not an object`);
    const type: unknown = event.type;
    assertTypeString(type, `${where} type`);
    if (!("data" in event)) throw new InvalidEventError(`${where} (${type}) has no data`);
    assertJson(event.data, `${where} (${event.type}) data`);
    const metadata = event.metadata ?? {};
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      throw new InvalidEventError(`${where} (${event.type}) metadata must be a JSON object`);
    }
    assertJson(metadata, `${where} (${event.type}) metadata`);
    const stored = inherited === undefined ? metadata : { ...inherited, ...metadata };
    let id = event.id;
    if (id === undefined) {
      id = randomUUID();
    } else {
      if (typeof id !== "string" || !UUID.test(id)) {
        throw new InvalidEventError(`${where} (${event.type}) id must be a uuid, got ${describe(id)}`);
      }
      id = id.toLowerCase();
      if (given.has(id)) throw new InvalidEventError(`${where} (${event.type}) repeats the id ${id} within one append`);
      given.add(id);
    }
    const schemaVersion = event.schemaVersion;
    if (schemaVersion !== undefined && !(Number.isSafeInteger(schemaVersion) && schemaVersion >= 1 && schemaVersion <= MAX_SCHEMA_VERSION)) {
      throw new InvalidEventError(`${where} (${event.type}) schemaVersion must be a whole number from 1 to ${MAX_SCHEMA_VERSION}, got ${describe(schemaVersion)}`);
    }
    ids.push(id);
    rows.push({ type: event.type, data: event.data, metadata: stored, id, ...(schemaVersion === undefined || schemaVersion === 1 ? {} : { schemaVersion }) });
  });
  return { json: JSON.stringify(rows), ids, idsGiven: given.size > 0, events, metadata: rows.map((row) => row.metadata) };
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  return typeof value === "object" ? (value === null ? "null" : Array.isArray(value) ? "an array" : "an object") : String(value);
}

/** Checks a `direction` option; true for "backward". */
export function assertDirection(direction: unknown): boolean {
  if (direction !== undefined && direction !== "forward" && direction !== "backward") {
    throw new InvalidArgumentError(`direction must be "forward" or "backward", got ${JSON.stringify(direction)}`);
  }
  return direction === "backward";
}

/** Checks an optional whole-number option (a limit, a page size). */
export function optionalWholeNumber(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  assertWholeNumber(value, name, 0);
  return value;
}
