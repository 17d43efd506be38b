import type { Command } from "commander";
import { type DatabaseOptions, withStore } from "../options.js";

/**
 * `meowmx archive|restore|delete <aggregateType> <aggregateId>`: a stream's lifecycle. Delete removes
 * the events for good, so it asks for `--yes`; it also removes the stream's states in the config
 * file's projections. `meowmx forget <subject>`: destroys a subject's personal data key.
 */
export function registerLifecycle(program: Command, global: () => DatabaseOptions): void {
  program
    .command("archive")
    .description("archive a stream: its events are kept but hidden from readers, and appends to it are refused")
    .argument("<aggregateType>", "the category, e.g. order")
    .argument("<aggregateId>", "the stream's id")
    .action(async (aggregateType: string, aggregateId: string) => {
      await withStore(global(), (store) => store.archiveStream(aggregateType, aggregateId));
      console.log(`archived ${aggregateType}/${aggregateId}`);
    });
  program
    .command("restore")
    .description("bring an archived stream back")
    .argument("<aggregateType>", "the category, e.g. order")
    .argument("<aggregateId>", "the stream's id")
    .action(async (aggregateType: string, aggregateId: string) => {
      await withStore(global(), (store) => store.restoreStream(aggregateType, aggregateId));
      console.log(`restored ${aggregateType}/${aggregateId}`);
    });
  program
    .command("delete")
    .description("delete a stream for good: its events, its snapshot and its projection states (those of the config file's projections); a tombstone refuses later appends")
    .argument("<aggregateType>", "the category, e.g. order")
    .argument("<aggregateId>", "the stream's id")
    .option("--yes", "confirm: the events cannot be brought back")
    .action(async (aggregateType: string, aggregateId: string, options: { yes?: boolean }) => {
      if (options.yes !== true) throw new Error(`deleting ${aggregateType}/${aggregateId} cannot be undone: run again with --yes`);
      await withStore(global(), async (store, config) => {
        for (const projection of config.projections ?? []) store.projection(projection);
        await store.deleteStream(aggregateType, aggregateId);
      });
      console.log(`deleted ${aggregateType}/${aggregateId}`);
    });
  program
    .command("forget")
    .description("forget a subject of personal data: destroy its key, so that its personal fields read as their forgotten values everywhere")
    .argument("<subject>", "the subject, by default the aggregate id of its stream")
    .action(async (subject: string) => {
      await withStore(global(), (store) => store.forget(subject));
      console.log(`forgot ${subject}`);
    });
}
