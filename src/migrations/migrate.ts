import {
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from "kysely";
import { sqlStateOf } from "../database/database-errors.js";
import { quoteIdentifier } from "../database/identifiers.js";
import { withRetries } from "../retry.js";
import { MIGRATIONS, type MigrationTarget } from "./migrations.js";

/**
 * Brings the schema up to date through Kysely's Migrator: each migration runs in a transaction under
 * an advisory lock and is recorded in the schema's `kysely_migration` table, so concurrent callers in
 * many processes apply each step exactly once.
 */
export async function migrate(db: Kysely<any>, target: MigrationTarget): Promise<void> {
  if (await isUpToDate(db, target)) return;
  const migrator = new Migrator({
    db,
    provider: new StatementsProvider(target),
    migrationTableSchema: target.schema,
  });
  // The Migrator looks for its table among every table of the database; a schema that someone
  // else drops meanwhile makes that listing fail. Nothing was applied then: look again.
  await withRetries(5, isCatalogRace, async () => {
    const { error } = await migrator.migrateToLatest();
    if (error !== undefined) throw error;
  });
}

/** Whether every migration is recorded already: then connecting costs two small queries. */
async function isUpToDate(db: Kysely<any>, target: MigrationTarget): Promise<boolean> {
  const table = `${quoteIdentifier(target.schema)}.${quoteIdentifier(DEFAULT_MIGRATION_TABLE)}`;
  const { rows } = await sql<{ present: boolean }>`select to_regclass(${table}) is not null as present`.execute(db);
  if (!rows[0]?.present) return false;
  const names = MIGRATIONS.map((migration) => migration.name);
  const { rows: applied } = await sql<{ count: number }>`
    select count(*)::int as count from ${sql.table(`${target.schema}.${DEFAULT_MIGRATION_TABLE}`)} where name = any(${names}::text[])`.execute(db);
  return applied[0]?.count === names.length;
}

function isCatalogRace(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === "3F000" || state === "42P01" || (state === "XX000" && /cache lookup failed/.test(String(error)));
}

/**
 * The DDL that {@link migrate} applies, as one script, including the migration bookkeeping, so that a
 * database prepared by hand is seen as migrated and later versions upgrade it normally.
 */
export function migrationSql(target: MigrationTarget): string {
  const s = quoteIdentifier(target.schema);
  const table = `${s}.${quoteIdentifier(DEFAULT_MIGRATION_TABLE)}`;
  const lockTable = `${s}.${quoteIdentifier(DEFAULT_MIGRATION_LOCK_TABLE)}`;
  const statements = [
    `create schema if not exists ${s}`,
    `create table if not exists ${table} (name varchar(255) not null primary key, timestamp varchar(255) not null)`,
    `create table if not exists ${lockTable} (id varchar(255) not null primary key, is_locked integer not null default 0)`,
    `insert into ${lockTable} (id, is_locked) values ('migration_lock', 0) on conflict do nothing`,
  ];
  const applied = MIGRATIONS.flatMap((migration) => [
    ...migration.statements(target),
    `insert into ${table} (name, timestamp) values ('${migration.name}', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`,
  ]);
  return ["begin", ...statements, ...applied, "commit"].map((statement) => `${statement};\n`).join("\n");
}

class StatementsProvider implements MigrationProvider {
  constructor(private readonly target: MigrationTarget) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const entries = MIGRATIONS.map((migration): [string, Migration] => [
      migration.name,
      {
        up: async (db) => {
          // One statement per call: PGlite's extended protocol takes no multi-statement strings.
          for (const statement of migration.statements(this.target)) await sql.raw(statement).execute(db);
        },
      },
    ]);
    return Object.fromEntries(entries);
  }
}
