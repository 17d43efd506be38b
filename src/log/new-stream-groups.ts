import { CompiledQuery, type Kysely } from "kysely";
import type { MeowmxTables } from "../database/tables.js";
import { type Appended, type InsertedRow, type statementsOf, stored } from "./append-statement.js";
import type { PreparedEvents } from "./inputs.js";

/** The most appends one statement carries. */
export const MAX_GROUP = 64;

/**
 * How many groups may be in flight at once: two keep the connection busy while the next group
 * gathers (measured in `npm run bench` W1: one in flight reached 2.4x Emmett, two 2.7x, four 2.2x).
 */
export const GROUPS_IN_FLIGHT = 2;

/** An append to a new stream waiting for its group. */
interface Member {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly prepared: PreparedEvents;
  readonly settle: (appended: Appended | undefined) => void;
}

/**
 * Coalesces appends that create streams (expected version 0, no ids of their own) arriving through
 * one pool while others are in flight: whatever queued meanwhile goes next as one statement and one
 * commit. No timer: an append that finds a free slot is sent at once, alone, as it would be without
 * this. A group holds at most one append per stream and {@link MAX_GROUP}
 * appends. An append comes back undefined when its group could not store it (its stream exists, is
 * archived, deleted or truncated, an id does not fit its type, the connection failed, a deadlock):
 * then it goes alone the usual way, which tells what happened, so that no member's outcome depends on
 * another's.
 */
export class NewStreamGroups {
  private waiting: Member[] = [];
  private sending = 0;

  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly statements: ReturnType<typeof statementsOf>,
  ) {}

  /** Stores the append with whatever others are waiting; undefined when it must go alone. */
  append(aggregateType: string, aggregateId: string, prepared: PreparedEvents): Promise<Appended | undefined> {
    return new Promise((settle) => {
      this.waiting.push({ aggregateType, aggregateId, prepared, settle });
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.sending >= GROUPS_IN_FLIGHT || this.waiting.length === 0) return;
    const group: Member[] = [];
    const left: Member[] = [];
    const streams = new Set<string>();
    for (const member of this.waiting) {
      const stream = `${member.aggregateType}\u0000${member.aggregateId}`;
      if (group.length < MAX_GROUP && !streams.has(stream)) {
        streams.add(stream);
        group.push(member);
      } else {
        left.push(member);
      }
    }
    this.waiting = left;
    this.sending++;
    void this.send(group).finally(() => {
      this.sending--;
      this.sendNext();
    });
  }

  /** Runs one group's statement and settles each member: stored, or undefined to go alone. */
  private async send(group: ReadonlyArray<Member>): Promise<void> {
    let rows: Array<InsertedRow & { member?: number }>;
    try {
      rows = group.length === 1 ? await this.sendOne(group[0]!) : await this.sendMany(group);
    } catch {
      for (const member of group) member.settle(undefined);
      return;
    }
    const byMember = new Map(rows.map((row, i) => [row.member ?? i + 1, row]));
    group.forEach((member, i) => {
      const row = byMember.get(i + 1);
      member.settle(row === undefined || row.sequences === null ? undefined : stored(member.aggregateType, member.prepared, row));
    });
  }

  private async sendOne(member: Member): Promise<InsertedRow[]> {
    const { rows } = await this.db.executeQuery<InsertedRow>(
      CompiledQuery.raw(this.statements.newStream, [member.aggregateType, member.aggregateId, member.prepared.json]),
    );
    return rows;
  }

  private async sendMany(group: ReadonlyArray<Member>): Promise<Array<InsertedRow & { member: number }>> {
    const json = `[${group.map((member) => `{"t":${JSON.stringify(member.aggregateType)},"i":${JSON.stringify(member.aggregateId)},"e":${member.prepared.json}}`).join(",")}]`;
    const { rows } = await this.db.executeQuery<InsertedRow & { member: number }>(CompiledQuery.raw(this.statements.newStreams, [json]));
    return rows;
  }
}
