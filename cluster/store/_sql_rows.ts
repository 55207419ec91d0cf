// The rows the store reads in more than one query, as the drivers answer
// them (bigints may come as strings), and the records they map to.
import type { IdempotencyRecord, OutboxEntry } from "./event_store.ts";

/** The columns of an {@linkcode OutboxRow}, which a dead letter's row begins with. */
export const outboxColumns = "actor_key, seq, idx, address, command, command_id, created_at";

/** A row of the outbox, or the outbox part of a dead letter's row. */
export interface OutboxRow {
  actor_key: string;
  seq: number | string;
  idx: number;
  address: OutboxEntry["address"];
  command: OutboxEntry["command"];
  command_id: string;
  created_at: number | string;
}

/** The outbox entry of `row`. */
export function outboxEntryOf(row: OutboxRow): OutboxEntry {
  return {
    actorKey: row.actor_key,
    seq: Number(row.seq),
    idx: Number(row.idx),
    address: row.address,
    command: row.command,
    commandId: row.command_id,
    createdAt: Number(row.created_at),
  };
}

/** An idempotency row. */
export interface IdempotencyRow {
  command_id: string;
  fingerprint: string | null;
  outcome: unknown;
  created_at: number | string;
}

/** The idempotency record of `row`. */
export function idempotencyRecord(row: IdempotencyRow): IdempotencyRecord {
  return {
    commandId: row.command_id,
    fingerprint: row.fingerprint,
    outcome: row.outcome as IdempotencyRecord["outcome"],
    createdAt: Number(row.created_at),
  };
}
