import { sql } from "kysely";
import type { Store } from "../store/store.js";

/** How many events of these categories the log holds: the total of a progress bar. */
export async function countEvents(store: Store, aggregateTypes: ReadonlyArray<string>): Promise<number> {
  const { rows } = await sql<{ total: number }>`
    select count(*)::int as total from ${sql.id(store.schema, "events")}
    where aggregate_type = any(${[...aggregateTypes]}::text[])`.execute(store.db);
  return rows[0]?.total ?? 0;
}

/** A progress line on stderr: a bar, events done of the total, the rate and the time left. */
export function progressBar(total: number, width = 30) {
  const started = performance.now();
  const render = (progress: { readonly events: number }) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? progress.events / seconds : 0;
    const share = total > 0 ? Math.min(1, progress.events / total) : 1;
    const filled = Math.round(share * width);
    const left = rate > 0 ? Math.max(0, (total - progress.events) / rate) : 0;
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${progress.events.toLocaleString("en")}/${total.toLocaleString("en")} events  ${Math.round(rate).toLocaleString("en")} ev/s  ETA ${left.toFixed(0)} s`;
  };
  return {
    update: (progress: { readonly events: number }) => process.stderr.write(`\r${render(progress)}`),
    done: () => process.stderr.write("\n"),
  };
}
