import { connect } from "meowmx";

export async function operate(url: string) {
  // #region migrate
  const store = await connect({ connectionString: url, migrate: false }); // tables made by your own tool
  const ddl = store.migrationSql(); // the same DDL as `npx meowmx migrate --print-sql`
  await store.migrate(); // or let meowmx apply it: idempotent, safe from many processes at once
  // #endregion migrate

  // #region status
  for (const partition of await store.subscriptionStatus()) {
    console.log(partition.name, partition.partition, partition.position, partition.lag, partition.owner, partition.lastError);
  }
  // #endregion status

  // #region scale
  const worker = store.subscribe({
    name: "emails",
    partitions: 4, // four checkpoints, handled in parallel; each stream stays in order
    leaseMs: 10_000, // a dead worker's partitions are taken over after this
    onError: "park", // a poison event is put aside after maxAttempts, and the rest goes on
    maxAttempts: 5,
    handler: async () => {},
  });
  // #endregion scale
  await worker.stop();
  await store.close();
  return ddl;
}
