/**
 * The offers outstanding to the signed-in agent, as state: the `offer`
 * frames the edge sends (work the queue holds for this agent until a
 * deadline), oldest first, each until it is answered, its deadline passes,
 * the chat is assigned (to this agent or another) or the chat leaves the
 * queue. Pure: the desk feeds it frames and the clock ({@linkcode Offers.tick}).
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { OfferedItem, ServerFrame } from "../client/protocol_client.ts";

/** One offer waiting for the agent's answer. */
export interface Offer {
  kind: "chat" | "ticket";
  id: string;
  /** Epoch ms after which the queue takes it back (and sets a silent agent away). */
  deadline: number;
  /** Whether a queue frame has listed the chat since it was offered (see {@linkcode Offers.waiting}). */
  listed: boolean;
}

/** The offers outstanding. */
export class Offers {
  /** Oldest first: the order `a` and `d` answer them in. */
  readonly pending = signal<Offer[]>([]);
  /** The last time {@linkcode tick} was given: an offer already past it is not taken. */
  #now = 0;

  /** An `offer` frame: answers the offer when it is new, null for a renewal or a bad frame. */
  offered(frame: ServerFrame): Offer | null {
    const kind = typeof frame.conversation === "string"
      ? "chat"
      : typeof frame.ticket === "string"
      ? "ticket"
      : null;
    const deadline = Number(frame.deadline);
    if (!kind || !Number.isFinite(deadline) || deadline <= this.#now) return null;
    const id = String(kind === "chat" ? frame.conversation : frame.ticket);
    const known = this.find(kind, id);
    if (known) {
      // Sent again (a new socket after a reconnect): the newest deadline holds.
      this.pending.value = this.pending.value.map((o) => o === known ? { ...o, deadline } : o);
      return null;
    }
    const offer: Offer = { kind, id, deadline, listed: false };
    this.pending.value = [...this.pending.value, offer];
    return offer;
  }

  /** The oldest offer outstanding. */
  get oldest(): Offer | undefined {
    return this.pending.value[0];
  }

  find(kind: Offer["kind"], id: string): Offer | undefined {
    return this.pending.value.find((o) => o.kind === kind && o.id === id);
  }

  /** Take an offer off the list (answered, assigned or withdrawn); answers it if it was there. */
  end(kind: Offer["kind"], id: string): Offer | undefined {
    const offer = this.find(kind, id);
    if (offer) this.pending.value = this.pending.value.filter((o) => o !== offer);
    return offer;
  }

  /** Move the clock; answers the offers whose deadline passed, now off the list. */
  tick(now: number): Offer[] {
    this.#now = now;
    const lapsed = this.pending.value.filter((o) => o.deadline <= now);
    if (lapsed.length) this.pending.value = this.pending.value.filter((o) => o.deadline > now);
    return lapsed;
  }

  /**
   * The waiting chats of a `queue` frame (`complete` when it lists them
   * all). A chat offered is waiting too; one listed since its offer and
   * missing from a complete list has left the queue (the visitor left, it
   * became a ticket, someone claimed it): its offer is withdrawn. One never
   * listed yet is kept, as the list may lag behind the offer.
   */
  waiting(conversations: string[], complete: boolean): Offer[] {
    const listed = new Set(conversations);
    const withdrawn: Offer[] = [];
    const next: Offer[] = [];
    for (const offer of this.pending.value) {
      if (offer.kind !== "chat") next.push(offer);
      else if (listed.has(offer.id)) next.push(offer.listed ? offer : { ...offer, listed: true });
      else if (offer.listed && complete) withdrawn.push(offer);
      else next.push(offer);
    }
    if (withdrawn.length || next.some((o, i) => o !== this.pending.value[i])) {
      this.pending.value = next;
    }
    return withdrawn;
  }
}

/** Whole seconds left at `now` to answer `offer`. */
export function secondsLeft(offer: Offer, now: number): number {
  return Math.max(0, Math.ceil((offer.deadline - now) / 1000));
}

/** The offer's item as the `accept` and `decline` frames name it. */
export function offeredItem(offer: Offer): OfferedItem {
  return offer.kind === "chat" ? { conversation: offer.id } : { ticket: offer.id };
}
