/**
 * What the widget keeps in the visitor's browser between page loads: who the
 * visitor is, the token, the conversation and the messages seen (the last
 * seq is the resume point), under one key per widget.
 *
 * @module
 */
import type { MessageFrame } from "../client/protocol_client.ts";

/** The widget's stored session. */
export interface StoredSession {
  visitorId?: string;
  token?: string;
  expiresAt?: number;
  conversationId?: string;
  /** Messages seen, oldest first; their last seq is where a resume starts. */
  messages: MessageFrame[];
  /** The highest seq the visitor has seen with the panel open. */
  seenSeq: number;
  closed?: { reason: string; rated?: boolean };
}

/** How many messages are kept in storage; older ones are dropped from the top. */
const keptMessages = 200;

/** The storage of one widget key (a throwing storage, e.g. blocked cookies, keeps nothing). */
export class SessionStore {
  #key: string;
  #storage: Storage | undefined;

  constructor(widgetKey: string, storage: Storage | undefined) {
    this.#key = `switchboard:${widgetKey}`;
    this.#storage = storage;
  }

  load(): StoredSession {
    try {
      const text = this.#storage?.getItem(this.#key);
      if (text) return { messages: [], seenSeq: 0, ...JSON.parse(text) };
    } catch {
      // unreadable or unavailable: start afresh
    }
    return { messages: [], seenSeq: 0 };
  }

  save(session: StoredSession): void {
    try {
      this.#storage?.setItem(
        this.#key,
        JSON.stringify({ ...session, messages: session.messages.slice(-keptMessages) }),
      );
    } catch {
      // full or unavailable: the widget works on, without surviving a reload
    }
  }
}
