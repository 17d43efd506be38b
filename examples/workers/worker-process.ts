/** A worker process for main.ts on PostgreSQL: runs the subscription until SIGTERM. */
import { connect } from "meowmx";
import { startWorker } from "./worker.js";

const [schema, label] = process.argv.slice(2) as [string, string];
const store = await connect({ schema });
startWorker(store, label, (line) => console.log(line));
process.on("SIGTERM", () => void store.close().then(() => process.exit(0)));
console.log(`${label} ready`);
