import type { Kysely } from "kysely";
import type { AnyAggregate } from "../aggregates/define-aggregate.js";
import { holdsPersonalData, sealPersonalData } from "../aggregates/personal-data.js";
import type { MeowmxTables } from "../database/tables.js";
import { InvalidEventError } from "../errors.js";
import type { NewEvent } from "../log/events.js";
import type { PersonalDataKeys, StreamRef } from "../tables/personal-data-keys.js";
import { type DataKey, isSealed, KeyWrap, keyIdOf, newDataKey, open, type Sealed, seal } from "./cipher.js";

/**
 * Seals the personal fields of new events with their subjects' keys, opens them again for readers
 * that go through definitions (or gives their `forgotten` value once the key is gone), and destroys
 * keys. Every call fetches the keys it needs in one statement.
 */
export class PersonalData {
  private readonly wrap: KeyWrap;

  constructor(
    private readonly keys: PersonalDataKeys,
    encryptionKey: string | Uint8Array | undefined,
  ) {
    this.wrap = new KeyWrap(encryptionKey);
  }

  /** The events to store for `events` of `aggregate`'s stream `aggregateId`: each personal field sealed. */
  async seal(db: Kysely<MeowmxTables>, aggregate: AnyAggregate, aggregateId: string, events: ReadonlyArray<NewEvent<string, unknown>>): Promise<ReadonlyArray<NewEvent<string, unknown>>> {
    if (!aggregate.holdsPersonalData) return events;
    const subjects = events.map((event) => {
      const schema = aggregate.schemas[event.type];
      if (schema === undefined || !holdsPersonalData(schema)) return undefined;
      const subject = aggregate.personalDataSubject({ aggregateType: aggregate.type, aggregateId, type: event.type, data: event.data });
      if (typeof subject !== "string" || subject.length === 0) {
        throw new InvalidEventError(`personalDataSubject of ${aggregate.type} returned ${JSON.stringify(subject)} for a ${event.type} event: a subject is a non-empty string`);
      }
      return subject;
    });
    const distinct = [...new Set(subjects.filter((subject) => subject !== undefined))];
    if (distinct.length === 0) return events;
    const stream: StreamRef = { aggregateType: aggregate.type, aggregateId };
    const stored = await this.keys.keysFor(db, distinct, (keyId) => ({ key: this.wrap.wrap(keyId, newDataKey()), wrapped: this.wrap.wraps }), stream);
    const bySubject = new Map(stored.map((row) => [row.subject, this.wrap.unwrap(row.keyId, row.key, row.wrapped)]));
    return events.map((event, i) => {
      const subject = subjects[i];
      if (subject === undefined) return event;
      const key = bySubject.get(subject)!;
      return { ...event, data: sealPersonalData(aggregate.schemas[event.type]!, event.data, (value, forgotten) => seal(key, value, forgotten)) };
    });
  }

  /** `events` with every sealed value opened, or read as its `forgotten` value when its key was destroyed. */
  async reveal<E extends { readonly data: unknown }>(db: Kysely<MeowmxTables>, events: ReadonlyArray<E>): Promise<E[]> {
    const keyIds = new Set<string>();
    for (const event of events) visitSealed(event.data, (sealed) => void keyIds.add(keyIdOf(sealed)));
    if (keyIds.size === 0) return [...events];
    const stored = await this.keys.keysById(db, [...keyIds]);
    const byId = new Map(stored.map((row) => [row.keyId, this.wrap.unwrap(row.keyId, row.key, row.wrapped)]));
    return events.map((event) => {
      const data = openAll(event.data, byId);
      return data === event.data ? event : { ...event, data };
    });
  }

  /**
   * Destroys the subject's key. Returns the streams that hold values it sealed and, to find copies
   * of them elsewhere, a way to open those values while the key is still in hand; undefined when the
   * subject has no key.
   */
  async destroyKey(db: Kysely<MeowmxTables>, subject: string): Promise<{ streams: StreamRef[]; valuesIn: (data: unknown) => unknown[] } | undefined> {
    const destroyed = await this.keys.destroy(db, subject);
    if (destroyed === undefined) return undefined;
    const key = this.wrap.unwrap(destroyed.key.keyId, destroyed.key.key, destroyed.key.wrapped);
    const valuesIn = (data: unknown) => {
      const values: unknown[] = [];
      visitSealed(data, (sealed) => {
        if (keyIdOf(sealed) === key.keyId) values.push(openWith(key, sealed));
      });
      return values;
    };
    return { streams: destroyed.streams, valuesIn };
  }
}

/** Calls `found` for each sealed value inside `value`. */
function visitSealed(value: unknown, found: (sealed: Sealed) => void): void {
  if (typeof value !== "object" || value === null) return;
  if (isSealed(value)) {
    found(value);
    return;
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) visitSealed(child, found);
}

/** `value` with its sealed values opened; the same object where nothing inside was sealed. */
function openAll(value: unknown, keys: ReadonlyMap<string, DataKey>): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (isSealed(value)) {
    const key = keys.get(keyIdOf(value));
    return key === undefined ? value.forgotten : openWith(key, value);
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => openAll(item, keys));
    return items.every((item, i) => item === value[i]) ? value : items;
  }
  const entries = Object.entries(value);
  const opened = entries.map(([name, field]) => [name, openAll(field, keys)] as const);
  return opened.every(([, field], i) => field === entries[i]![1]) ? value : Object.fromEntries(opened);
}

function openWith(key: DataKey, sealed: Sealed): unknown {
  try {
    return open(key, sealed);
  } catch (error) {
    throw new Error(`a personal value sealed with key ${key.keyId} does not decrypt: it was altered`, { cause: error });
  }
}
