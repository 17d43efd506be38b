import { afterEach } from "vitest";
import { type Explorer, type ExplorerOptions, startExplorer, type Store } from "../../src/index.js";

/**
 * Starts explorers on free ports for the tests of the enclosing block, and closes them after each
 * test (before the stores they read are closed).
 */
export function explorersForEachTest(): (store: Store, options?: ExplorerOptions) => Promise<Explorer> {
  const explorers: Explorer[] = [];
  afterEach(async () => {
    await Promise.all(explorers.splice(0).map((explorer) => explorer.close()));
  });
  return async (store, options = {}) => {
    const explorer = await startExplorer(store, { port: 0, ...options });
    explorers.push(explorer);
    return explorer;
  };
}
