import {
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from "kysely";
import { quoteIdentifier } from "../database/identifiers.js";
import { MIGRATIONS, type MigrationTarget } from "./migrations.js";

/**
 * Brings the schema up to date through Kysely's Migrator: each migration runs in a transaction under
 * an advisory lock and is recorded in the schema's `kysely_migration` table, so concurrent callers in
 * many processes apply each step exactly once.
 */
export async function migrate(db: Kysely<any>, target: MigrationTarget): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StatementsProvider(target),
    migrationTableSchema: target.schema,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
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
