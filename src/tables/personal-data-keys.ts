import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { MeowmxTables } from "../database/tables.js";

/** A key row as stored: the data key wrapped or not. */
export interface StoredKey {
  readonly subject: string;
  readonly keyId: string;
  readonly key: Buffer;
  readonly wrapped: boolean;
}

/** A stream by category and id. */
export interface StreamRef {
  readonly aggregateType: string;
  readonly aggregateId: string;
}

/**
 * The personal_data_keys table (one data key per subject) and personal_data_streams (which streams
 * hold values sealed with each key). Keys are fetched by the batch: one statement for any number of
 * subjects or key ids.
 */
export class PersonalDataKeys {
  constructor(private readonly schema: string) {}

  private table(name: "personal_data_keys" | "personal_data_streams") {
    return sql.id(this.schema, name);
  }

  /**
   * The keys of `subjects`, made with `newKey` for those that have none, and a note that `stream`
   * holds values sealed with them: one statement. A subject whose key another transaction is making
   * at the same time is read again once that one has committed.
   */
  async keysFor(
    db: Kysely<MeowmxTables>,
    subjects: ReadonlyArray<string>,
    newKey: (keyId: string) => { key: Buffer; wrapped: boolean },
    stream: StreamRef,
  ): Promise<StoredKey[]> {
    const candidates = subjects.map((subject) => {
      const keyId = randomUUID();
      return { subject, keyId, ...newKey(keyId) };
    });
    const { rows } = await sql<StoredKey>`
      with wanted as (
        select * from unnest(${candidates.map((c) => c.subject)}::text[], ${candidates.map((c) => c.keyId)}::uuid[],
                             ${candidates.map((c) => c.key.toString("hex"))}::text[], ${candidates.map((c) => c.wrapped)}::boolean[]) as w(subject, key_id, key, wrapped)
      ), made as (
        insert into ${this.table("personal_data_keys")} (subject, key_id, key, wrapped) select subject, key_id, decode(key, 'hex'), wrapped from wanted
        on conflict (subject) do nothing
        returning subject, key_id, key, wrapped
      ), found as (
        select subject, key_id, key, wrapped from made
        union all
        select k.subject, k.key_id, k.key, k.wrapped from ${this.table("personal_data_keys")} as k
        where k.subject = any(${[...subjects]}::text[]) and k.subject not in (select subject from made)
      ), noted as (
        insert into ${this.table("personal_data_streams")} (key_id, aggregate_type, aggregate_id)
        select key_id, ${stream.aggregateType}, ${stream.aggregateId} from found
        on conflict do nothing
      )
      select subject, key_id::text as "keyId", key, wrapped from found`.execute(db);
    rows.forEach(asBuffer);
    if (rows.length === subjects.length) return rows;
    // Made by a transaction that committed after this statement began: a new statement sees them.
    const missing = subjects.filter((subject) => !rows.some((row) => row.subject === subject));
    return [...rows, ...(await this.keysFor(db, missing, newKey, stream))];
  }

  /** The stored keys with these ids; ids whose key was destroyed are absent. */
  async keysById(db: Kysely<MeowmxTables>, keyIds: ReadonlyArray<string>): Promise<StoredKey[]> {
    const { rows } = await sql<StoredKey>`
      select subject, key_id::text as "keyId", key, wrapped from ${this.table("personal_data_keys")} where key_id = any(${[...keyIds]}::uuid[])`.execute(db);
    return rows.map(asBuffer);
  }

  /** Deletes the subject's key and its notes; returns the key (to find what it sealed) and the streams that hold its values. */
  async destroy(db: Kysely<MeowmxTables>, subject: string): Promise<{ key: StoredKey; streams: StreamRef[] } | undefined> {
    const { rows } = await sql<StoredKey>`
      delete from ${this.table("personal_data_keys")} where subject = ${subject}
      returning subject, key_id::text as "keyId", key, wrapped`.execute(db);
    const key = rows[0] === undefined ? undefined : asBuffer(rows[0]);
    if (key === undefined) return undefined;
    const { rows: streams } = await sql<StreamRef>`
      delete from ${this.table("personal_data_streams")} where key_id = ${key.keyId}::uuid
      returning aggregate_type as "aggregateType", aggregate_id::text as "aggregateId"`.execute(db);
    return { key, streams };
  }
}

// pg returns bytea as a Buffer, PGlite as a Uint8Array.
function asBuffer(row: StoredKey): StoredKey {
  (row as { key: Buffer }).key = Buffer.from(row.key);
  return row;
}
