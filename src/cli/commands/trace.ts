import type { Command } from "commander";
import { causationTree } from "../../log/causation-tree.js";
import type { RecordedEvent } from "../../log/events.js";
import { type DatabaseOptions, withStore } from "../options.js";

/** `meowmx trace <correlationId>`: the events of one correlation, as a tree by causation. */
export function registerTrace(program: Command, global: () => DatabaseOptions): void {
  program
    .command("trace")
    .description("print the events that share a correlation id, as a tree of what caused what")
    .argument("<correlationId>", "the correlationId in the events' metadata")
    .option("--json", "one JSON object per event, in commit order, with its depth in the tree")
    .action(async (correlationId: string, options: { json?: boolean }) => {
      await withStore(global(), async (store) => {
        const events = await store.correlated(correlationId);
        if (events.length === 0) throw new Error(`no events with correlationId ${correlationId}`);
        for (const { event, depth } of causationTree(events)) {
          console.log(options.json ? JSON.stringify({ ...event, depth }) : `${"  ".repeat(depth)}${describe(event)}`);
        }
      });
    });
}

function describe(event: RecordedEvent): string {
  return `${event.aggregateType}/${event.aggregateId}@${event.version}  ${event.type}  ${event.createdAt.toISOString()}`;
}
