/**
 * Conversation heads: the newest message numbers of many conversations at
 * once, each read from its activation after its pending commits, as an
 * edge's head checks ask for them (one request per owner node).
 *
 * @module
 */
import type { ActorAddress } from "../../actors/decider.ts";
import type { ActorRequest, ActorResponse, ConversationHead } from "../protocol.ts";

/**
 * The heads of `addresses`, in order, read through `dispatch` (a host's) by
 * `deadline`; null for an actor that is not there or whose view has no head.
 */
export function readHeads(
  dispatch: (request: ActorRequest) => Promise<ActorResponse>,
  addresses: readonly ActorAddress[],
  deadline: number,
): Promise<(ConversationHead | null)[]> {
  return Promise.all(addresses.map(async (address) => {
    const read = await dispatch({ address, op: "read", commandId: crypto.randomUUID(), deadline });
    return read.ok ? headOf(read.reply) : null;
  }));
}

/** The head in a conversation's view (or in a head off the bus), or null. */
export function headOf(view: unknown): ConversationHead | null {
  if (typeof view !== "object" || view === null) return null;
  const { seq, publicSeq } = view as Record<string, unknown>;
  return Number.isSafeInteger(seq) && Number.isSafeInteger(publicSeq)
    ? { seq: seq as number, publicSeq: publicSeq as number }
    : null;
}
