import { CompiledQuery, type Kysely } from "kysely";
import type { MeowmxTables } from "../database/tables.js";
import { type AppendRow, expectedParameter, type InsertedRow, type statementsOf } from "./append-statement.js";
import type { ExpectedVersion } from "./events.js";
import type { Appender } from "./appender.js";
import type { PreparedEvents } from "./inputs.js";

/** The most appends one statement carries. */
export const MAX_GROUP = 64;

/**
 * The most events an append may have to go in a group. A larger one goes at once, alone, outside
 * the groups: its statement already spreads one commit over many rows, and in a group one backend
 * would write every member's rows while the others idle (W2's 100-event appends, 8 at a time:
 * 31,700-34,200 events/s grouped, 39,400-50,100 each alone).
 */
export const MAX_GROUPED_EVENTS = 16;

/**
 * How many groups may be in flight at once: two, so that an append finds a slot while a group is in
 * flight (in W1, one, two or three in flight gave the same throughput, within the machine's noise).
 */
export const GROUPS_IN_FLIGHT = 2;

/** An append waiting for its group. */
interface Member {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly prepared: PreparedEvents;
  readonly expected: ExpectedVersion;
  readonly settle: (row: AppendRow | undefined) => void;
}

/**
 * Coalesces the appends of one pool that arrive while others are in flight: whatever queued
 * meanwhile goes next as one statement and one commit, each append checked as it would be alone
 * (its expected version, its ids, its stream's lifecycle). No timer: an append that finds a free
 * slot is sent at once, alone, with the statement it would have had without this. A slot a group
 * frees is filled once the microtasks queued meanwhile have run (`process.nextTick`), by which
 * time its members' callers have made their next appends (in W1, 8 appenders went in groups of 1
 * and 6-7 in turn, the first returning append taking the slot alone; filled after the
 * microtasks, all 8 go together: 6,450-6,660 events/s against 4,100-4,600). A group holds at
 * most one append per stream and {@link MAX_GROUP} appends, and writes its streams in one order,
 * so that two groups never wait for each other. An append comes back with the row its statement
 * gave it, to be read as a lone append's is; or undefined when its group failed as a whole
 * (another writer took a version first, an id does not fit its type, the connection failed):
 * then it runs again alone, so that no member's outcome depends on another's.
 */
export class AppendGroups {
  private waiting: Member[] = [];
  private sending = 0;
  /** Whether a slot freed, to be filled once the microtasks queued meanwhile have run. */
  private refilling = false;

  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly statements: ReturnType<typeof statementsOf>,
    /** Sends a group of one with the statement a lone append has. */
    private readonly appender: Pick<Appender, "appendRow" | "newStreamRow">,
  ) {}

  /** Sends the append with whatever others are waiting; the row it got, or undefined to run it alone. */
  append(aggregateType: string, aggregateId: string, prepared: PreparedEvents, expected: ExpectedVersion): Promise<AppendRow | undefined> {
    return new Promise((settle) => {
      this.waiting.push({ aggregateType, aggregateId, prepared, expected, settle });
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.sending >= GROUPS_IN_FLIGHT || this.refilling || this.waiting.length === 0) return;
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
      // The members just settled make their next appends in the microtasks that follow: they join
      // the next group rather than find the slot taken by whichever append came first.
      this.refilling = true;
      process.nextTick(() => {
        this.refilling = false;
        this.sendNext();
      });
    });
  }

  /** Runs one group's statement and settles each member with its row. */
  private async send(group: ReadonlyArray<Member>): Promise<void> {
    let rows: Map<number, AppendRow>;
    try {
      rows = group.every(createsStream) ? await this.sendNewStreams(group) : await this.sendAppends(group);
    } catch {
      for (const member of group) member.settle(undefined);
      return;
    }
    group.forEach((member, i) => member.settle(rows.get(i + 1)));
  }

  /**
   * Appends that all create streams: a plain insert at versions 1..n, which the unique key guards.
   * A stream with a lifecycle row gets no row here, and goes alone to be told why.
   */
  private async sendNewStreams(group: ReadonlyArray<Member>): Promise<Map<number, AppendRow>> {
    const inserted = (row: InsertedRow): AppendRow => ({ head: 0, in_order: true, duplicates: 0, status: null, ...row });
    if (group.length === 1) {
      const [member] = group as [Member];
      const row = await this.appender.newStreamRow(member.aggregateType, member.aggregateId, member.prepared);
      return new Map(row === undefined ? [] : [[1, inserted(row)]]);
    }
    const { rows } = await this.db.executeQuery<InsertedRow & { member: number }>(CompiledQuery.raw(this.statements.newStreams, [membersJson(group)]));
    return new Map(rows.map((row) => [row.member, inserted(row)]));
  }

  /** Appends of any kind: each checked by the statement as a lone append is. */
  private async sendAppends(group: ReadonlyArray<Member>): Promise<Map<number, AppendRow>> {
    if (group.length === 1) {
      const [member] = group as [Member];
      return new Map([[1, await this.appender.appendRow(member.aggregateType, member.aggregateId, member.prepared, member.expected)]]);
    }
    const { rows } = await this.db.executeQuery<AppendRow & { member: number }>(CompiledQuery.raw(this.statements.appends, [membersJson(group)]));
    return new Map(rows.map((row) => [row.member, row]));
  }
}

/** Whether an append creates its stream: expected version 0 and no ids of its own to look for. */
function createsStream(member: Member): boolean {
  return member.expected === 0 && !member.prepared.idsGiven;
}

/** A group as the group statements' $1. */
function membersJson(group: ReadonlyArray<Member>): string {
  const members = group.map(
    (member) =>
      `{"t":${JSON.stringify(member.aggregateType)},"i":${JSON.stringify(member.aggregateId)},"x":${JSON.stringify(expectedParameter(member.expected))},` +
      `"g":${member.prepared.idsGiven},"e":${member.prepared.json}}`,
  );
  return `[${members.join(",")}]`;
}
