// The names a conversation gives out: the key of each participant's read
// marker, the id of the ticket it becomes, and the namespace of anonymous
// visitors' ids, which the edge mints and checks too.
import { isVisitor } from "./_validation.ts";

/**
 * The key of a participant's read marker: `visitor:` or `agent:` (any
 * staff) and its sub, so a visitor and an agent with the same sub differ.
 */
export function participantKey(by: { sub: string; role: string }): string {
  return `${isVisitor(by) ? "visitor" : "agent"}:${by.sub}`;
}

const ID_CHARS = 128;

/**
 * The id of the ticket a conversation becomes: `chat-` and the session id,
 * or for ids too long for that a prefix of it and a hash of the whole, so
 * distinct conversations never share a ticket.
 */
export function chatTicketId(sessionId: string): string {
  const id = `chat-${sessionId}`;
  if (id.length <= ID_CHARS) return id;
  const hash = fnv1a(sessionId).toString(16).padStart(8, "0");
  return `chat-${sessionId.slice(0, ID_CHARS - 14)}-${hash}`;
}

/**
 * Where the ids of anonymous visitors start: the edge mints them for every
 * visitor no tenant vouched for, so no verified id is ever in this namespace.
 */
export const anonymousVisitorPrefix = "anon:";

/** True when `id` names an anonymous (unverified) visitor. */
export function isAnonymousVisitorId(id: string): boolean {
  return id.startsWith(anonymousVisitorPrefix);
}

/** 32-bit FNV-1a over UTF-16 code units; ids are ASCII, so that is over their bytes. */
function fnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}
