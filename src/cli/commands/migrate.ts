import type { Command } from "commander";
import { assertSchemaName, assertTypeName } from "../../database/identifiers.js";
import { migrationSql } from "../../migrations/migrate.js";
import { DEFAULT_AGGREGATE_ID_TYPE, DEFAULT_SCHEMA } from "../../store/connect.js";
import { loadConfig } from "../config-file.js";
import { type DatabaseOptions, withStore } from "../options.js";

/** `meowmx migrate [--print-sql]`: creates or upgrades the tables, or prints their DDL. */
export function registerMigrate(program: Command, global: () => DatabaseOptions): void {
  program
    .command("migrate")
    .description("create or upgrade meowmx's tables (idempotent)")
    .option("--print-sql", "print the DDL instead of running it, for your own migration tool")
    .option("--aggregate-id-type <type>", "the SQL type of aggregate ids for new tables", DEFAULT_AGGREGATE_ID_TYPE)
    .action(async (options: { printSql?: boolean; aggregateIdType: string }) => {
      if (options.printSql) {
        const config = await loadConfig(global().config);
        const schema = global().schema ?? config.connect?.schema ?? DEFAULT_SCHEMA;
        process.stdout.write(migrationSql({ schema: assertSchemaName(schema), aggregateIdType: assertTypeName(options.aggregateIdType) }));
        return;
      }
      await withStore(
        { ...global(), aggregateIdType: options.aggregateIdType },
        async (store) => console.log(`schema ${store.schema} is up to date`),
        true,
      );
    });
}
