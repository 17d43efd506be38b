#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { registerCheck } from "./commands/check.js";
import { registerDemo } from "./commands/demo.js";
import { registerEvents } from "./commands/events.js";
import { registerLifecycle } from "./commands/lifecycle.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerRebuild } from "./commands/rebuild.js";
import { registerRepairPositions } from "./commands/repair-positions.js";
import { registerSubscriptions } from "./commands/subscriptions.js";
import { registerStreams } from "./commands/streams.js";
import { registerTrace } from "./commands/trace.js";
import { registerUi } from "./commands/ui.js";
import type { DatabaseOptions } from "./options.js";

const program = new Command("meowmx")
  .description("event sourcing on PostgreSQL: inspect and operate a meowmx event store")
  .option("--url <url>", "PostgreSQL connection string (default MEOWMX_DATABASE_URL or DATABASE_URL)")
  .option("--data-dir <dir>", "use the embedded PGlite database kept in this folder")
  .option("--schema <name>", "the schema of meowmx's tables (default meowmx)")
  .option("--config <file>", "the config file (default meowmx.config.ts, when it exists)")
  .showHelpAfterError()
  .exitOverride();

const global = (): DatabaseOptions => program.opts<DatabaseOptions>();
for (const register of [registerMigrate, registerEvents, registerStreams, registerLifecycle, registerSubscriptions, registerRebuild, registerRepairPositions, registerCheck, registerTrace, registerUi, registerDemo]) {
  register(program, global);
}

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`meowmx: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
