import { expect, it } from "vitest";
import { describeEachBackend } from "../../test/support/backends.js";
import { startWorker } from "./worker.js";

describeEachBackend("the workers example", ({ newStore, newSchema }) => {
  it("has one of two workers handle events, and the other take over when it stops", async () => {
    const schema = newSchema();
    const [writer, first, second] = [await newStore({ schema }), await newStore({ schema }), await newStore({ schema })];
    const lines: string[] = [];
    const workers = [startWorker(first, "worker-1", (line) => lines.push(line)), startWorker(second, "worker-2", (line) => lines.push(line))];
    for (let i = 0; i < 3; i++) await writer.append("audit", `entry-${i}`, [{ type: "Recorded", data: { i } }]);
    await Promise.all(workers.map((worker) => worker.caughtUp()));
    const active = lines[0]!.startsWith("worker-1") ? 0 : 1;
    expect(lines.every((line) => line.startsWith(`worker-${active + 1}`))).toBe(true);
    await workers[active]!.stop();
    for (let i = 3; i < 6; i++) await writer.append("audit", `entry-${i}`, [{ type: "Recorded", data: { i } }]);
    await workers[1 - active]!.caughtUp();
    expect(lines.slice(3)).toEqual([3, 4, 5].map((i) => `worker-${2 - active} handled audit/entry-${i}@1`));
    await workers[1 - active]!.stop();
  });
});
