/**
 * One socket's unread counts: per watched conversation, its newest message
 * number (in the socket's numbering) minus the reader's replicated marker,
 * told as an `unread` frame whenever it changes; an agent's welcome carries
 * those of its assigned conversations.
 *
 * @module
 */
import { participantKey } from "../../actors/session.ts";
import type { Principal } from "../auth/auth.ts";
import type { ReadMarkers } from "../live/read_markers.ts";
import type { ServerFrame } from "./frames.ts";
import type { Watch } from "./_watch.ts";
import type { Numbering } from "./conversation_stream.ts";

/** What the counts need of their socket. */
export interface UnreadPort {
  /** How the socket's principal numbers messages. */
  readonly numbering: Numbering;
  send(frame: ServerFrame): void;
  /** The socket's current watches. */
  watches(): Iterable<Watch>;
  /** Whether `watch` is still watched (not stopped or replaced). */
  current(watch: Watch): boolean;
}

/** What a socket's read of a conversation says about reading. */
export interface ReadView {
  seq?: number;
  publicSeq?: number;
  readMarkers?: Record<string, number>;
}

/** Tracks and tells the unread counts of one socket. */
export class UnreadCounts {
  readonly #markers: ReadMarkers;
  readonly #principal: Principal;
  readonly #port: UnreadPort;
  /** Stops listening to each watched conversation's markers. */
  readonly #stops: (() => void)[] = [];
  /** Unread counts the welcome told, until the conversation is watched. */
  #welcomed = new Map<string, number>();
  /** Watches whose count may have changed, told together. */
  #dirty = new Set<Watch>();

  constructor(markers: ReadMarkers, principal: Principal, port: UnreadPort) {
    this.#markers = markers;
    this.#principal = principal;
    this.#port = port;
  }

  /** The counts of an agent's assigned conversations (listed summaries), for its welcome. */
  welcome(docs: Record<string, unknown>[]): Record<string, number> {
    const { tenant } = this.#principal;
    const unread: Record<string, number> = {};
    for (const doc of docs) {
      const id = String(doc.id);
      this.#markers.seed(tenant, id, (doc.readMarkers ?? {}) as Record<string, number>);
      const newest = typeof doc.messages === "number" ? doc.messages : 0;
      unread[id] = Math.max(0, newest - this.#markers.marker(tenant, id, this.#principal));
    }
    this.#welcomed = new Map(Object.entries(unread));
    return unread;
  }

  /** A conversation is watched from now on; `view` is the actor's, read to start it. */
  watched(watch: Watch, view: ReadView): void {
    this.#markers.seed(this.#principal.tenant, watch.conversation, view.readMarkers ?? {});
    watch.newest = view[this.#port.numbering] ?? 0;
    watch.unreadShown = this.#welcomed.get(watch.conversation);
    this.#welcomed.delete(watch.conversation);
    this.#stops.push(
      this.#markers.listen(
        this.#principal.tenant,
        watch.conversation,
        () => this.#mayChange(watch),
      ),
    );
    this.#mayChange(watch);
  }

  /** A message reached the socket; what one writes, one has read. */
  delivered(watch: Watch, seq: number, author: unknown): void {
    watch.newest = Math.max(watch.newest, seq);
    const { sub, role } = (author ?? {}) as { sub?: unknown; role?: unknown };
    const principal = this.#principal;
    if (
      sub === principal.sub && typeof role === "string" &&
      participantKey({ sub, role }) === participantKey(principal)
    ) {
      this.#markers.wrote(principal.tenant, watch.conversation, principal, seq);
    }
    this.#mayChange(watch);
  }

  /** The socket closes: checkpoint what it read, and stop listening. */
  close(): void {
    for (const stop of this.#stops) stop();
    this.#stops.length = 0;
    for (const watch of this.#port.watches()) {
      this.#markers.flush(this.#principal.tenant, watch.conversation, this.#principal);
    }
    this.#dirty.clear();
  }

  // Told once per burst (a backfilled page, a merge), not per message.
  #mayChange(watch: Watch): void {
    if (this.#dirty.size === 0) queueMicrotask(() => this.#tell());
    this.#dirty.add(watch);
  }

  #tell(): void {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const watch of dirty) {
      if (!this.#port.current(watch)) continue;
      const marker = this.#markers.marker(
        this.#principal.tenant,
        watch.conversation,
        this.#principal,
      );
      const frame = watch.unreadChange(marker);
      if (frame) this.#port.send(frame);
    }
  }
}
