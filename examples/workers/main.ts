/**
 * Two workers run the same subscription; only one handles events. When it stops, the other takes
 * over where it left off. `npx tsx examples/workers/main.ts`: with DATABASE_URL the workers are two
 * processes on PostgreSQL; without, two stores on one embedded PGlite in this process.
 */
import { spawn } from "node:child_process";
import { PGlite } from "@electric-sql/pglite";
import { connect, type Store } from "meowmx";
import { startWorker } from "./worker.js";

const schema = `workers_example_${process.pid}`;
const url = process.env.MEOWMX_DATABASE_URL || process.env.DATABASE_URL;
const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function appendSome(store: Store, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await store.append("audit", `entry-${i}`, [{ type: "Recorded", data: { i } }]);
}

if (url) {
  const store = await connect({ schema });
  const workers = ["worker-1", "worker-2"].map((label) => {
    const child = spawn(process.execPath, ["--import", "tsx", new URL("./worker-process.ts", import.meta.url).pathname, schema, label], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout.setEncoding("utf8").on("data", (text: string) => process.stdout.write(text));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    return { label, child, exited, ready: new Promise((resolve) => child.stdout.once("data", resolve)) };
  });
  await Promise.all(workers.map((worker) => worker.ready));
  await appendSome(store, 0, 3);
  await sleep(1000);
  const [status] = await store.subscriptionStatus("audit");
  const active = workers.find((worker) => status?.owner?.includes(`:${worker.child.pid}:`));
  log(`stopping the active worker, ${active?.label}`);
  active?.child.kill("SIGTERM");
  await active?.exited;
  await appendSome(store, 3, 3);
  await sleep(2000);
  for (const worker of workers) worker.child.kill("SIGTERM");
  // Dropping the schema while a worker still holds its tables would deadlock with it.
  await Promise.all(workers.map((worker) => worker.exited));
  await store.db.schema.dropSchema(schema).cascade().execute();
  await store.close();
} else {
  // PGlite serves one process: the two workers are two stores sharing one embedded database.
  const pglite = await PGlite.create();
  const [writer, first, second] = await Promise.all([0, 1, 2].map(() => connect({ pglite, schema })));
  const workers = [startWorker(first!, "worker-1", log), startWorker(second!, "worker-2", log)];
  await appendSome(writer!, 0, 3);
  await Promise.all(workers.map((worker) => worker.caughtUp()));
  const [status] = await writer!.subscriptionStatus("audit");
  const active = status?.owner === workers[0]!.owner ? 0 : 1;
  log(`stopping the active worker, worker-${active + 1}`);
  await workers[active]!.stop();
  await appendSome(writer!, 3, 3);
  await workers[1 - active]!.caughtUp();
  await Promise.all([writer, first, second].map((store) => store!.close()));
  await pglite.close();
}
