import type { Command } from "commander";
import { assertSchemaName, assertTypeName } from "../../database/identifiers.js";
import { migrationSql } from "../../migrations/migrate.js";
import { DEFAULT_AGGREGATE_ID_TYPE } from "../../store/connect.js";
import { type DatabaseOptions, withStore } from "../options.js";

/** `meowmx migrate [--print-sql]`: creates or upgrades the tables, or prints their DDL. */
export function registerMigrate(program: Command, global: () => DatabaseOptions): void {
  program
    .command("migrate")
    .description("create or upgrade meowmx's tables (idempotent)")
    .option("--print-sql", "print the DDL instead of running it, for your own migration tool")
    .option("--aggregate-id-type <type>", "the SQL type of aggregate ids for new tables", DEFAULT_AGGREGATE_ID_TYPE)
    .action(async (options: { printSql?: boolean; aggregateIdType: string }) => {
      const { schema = "meowmx" } = global();
      if (options.printSql) {
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
