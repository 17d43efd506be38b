import type { Command } from "commander";
import type { RecordedEvent } from "../../log/events.js";
import { type DatabaseOptions, withStore } from "../options.js";
import { positiveInteger } from "../parse.js";

interface EventsOptions {
  readonly type?: string[];
  readonly id?: string;
  readonly after?: string;
  readonly limit: number;
  readonly json?: boolean;
  readonly follow?: boolean;
}

/** `meowmx events`: the log in commit order, or one stream, pretty or as JSON lines. */
export function registerEvents(program: Command, global: () => DatabaseOptions): void {
  program
    .command("events")
    .description("print events in commit order (or one stream with --type and --id)")
    .option("--type <aggregateType...>", "only these categories")
    .option("--id <aggregateId>", "only this stream (needs one --type)")
    .option("--after <position>", "only events after this position")
    .option("--limit <n>", "at most this many events", positiveInteger, 100)
    .option("--json", "one JSON object per line")
    .option("--follow", "keep printing new events as they commit, until Ctrl-C")
    .action(async (options: EventsOptions) => {
      if (options.id !== undefined && options.type?.length !== 1) throw new Error("--id needs exactly one --type");
      if (options.id !== undefined && options.follow) throw new Error("--follow reads categories, not one stream: drop --id");
      const print = (event: RecordedEvent) => console.log(options.json ? JSON.stringify(event) : formatEvent(event));
      await withStore(global(), async (store) => {
        if (options.follow) {
          const stop = new AbortController();
          process.once("SIGINT", () => stop.abort());
          process.once("SIGTERM", () => stop.abort());
          for await (const event of store.follow({ aggregateTypes: options.type, after: options.after, signal: stop.signal })) print(event);
          return;
        }
        const events =
          options.id === undefined
            ? await store.read({ aggregateTypes: options.type, after: options.after, limit: options.limit })
            : await store.load(options.type![0]!, options.id, { limit: options.limit });
        events.forEach(print);
      });
    });
}

/** One event on one line: position, stream@version, type, data. */
export function formatEvent(event: RecordedEvent): string {
  return `${event.position}  ${event.aggregateType}/${event.aggregateId}@${event.version}  ${event.type}  ${JSON.stringify(event.data)}`;
}
