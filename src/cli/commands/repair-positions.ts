import type { Command } from "commander";
import { repairPositions } from "../../store/connect.js";
import { connectConfigOf, type DatabaseOptions } from "../options.js";

/** `meowmx repair-positions`: renumbers a log restored from another cluster's logical copy. */
export function registerRepairPositions(program: Command, global: () => DatabaseOptions): void {
  program
    .command("repair-positions")
    .description("after a logical restore (pg_dump) into another cluster: renumber stored positions, order kept (idempotent)")
    .action(async () => {
      const { connectConfig } = await connectConfigOf(global());
      const repair = await repairPositions(connectConfig);
      if (repair === undefined) {
        console.log("positions are this cluster's own: nothing to repair");
        return;
      }
      console.log(
        `renumbered ${repair.events} events; moved ${repair.checkpoints} subscription checkpoints, ` +
          `${repair.parkedEvents} parked events and ${repair.projectionStates} projection states with them`,
      );
    });
}
