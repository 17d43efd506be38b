import { DEFAULT_READ_LIMIT, type ReadAllOptions, type ReadOptions, type RecordedEvent } from "./events.js";
import { optionalWholeNumber } from "./inputs.js";

/** Every committed event after `options.after`, in commit order, fetched a page at a time through `read`. */
export async function* readInPages(
  read: (page: ReadOptions) => Promise<RecordedEvent[]>,
  options: ReadAllOptions = {},
): AsyncGenerator<RecordedEvent, void, undefined> {
  const limit = optionalWholeNumber(options.pageSize, "pageSize") ?? DEFAULT_READ_LIMIT;
  let after = options.after;
  for (;;) {
    const page = await read({ aggregateTypes: options.aggregateTypes, after, limit, partition: options.partition });
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < limit) return;
    after = last.position;
  }
}
