import { connect } from "meowmx";

export async function scaleOut(primaryUrl: string, replicaUrl: string) {
  // #region replica
  const store = await connect({
    connectionString: primaryUrl, // appends, transactions, loads, repositories, checkpoints
    readReplica: { connectionString: replicaUrl }, // read, readAll, follow, correlated, batches, rebuilds
  });
  for (const partition of await store.subscriptionStatus()) {
    const { replayLagBytes, replayLagMs, reachable } = partition.replica!;
    console.log(partition.name, partition.lag, { replayLagBytes, replayLagMs, reachable });
  }
  // #endregion replica
  await store.close();
}
