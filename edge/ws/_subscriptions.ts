/**
 * What one authenticated socket follows: the conversations it watches (a
 * {@linkcode Watch} each, fed by the edge's hub), its tenant's status and
 * queue feeds, the frames they tell the client, and their teardown.
 *
 * @module
 */
import type { Principal } from "../auth/auth.ts";
import { clientMessage } from "../client_messages.ts";
import type { ConversationUpdate } from "../live/conversation_hub.ts";
import type { QueueSnapshot } from "../live/queue_feed.ts";
import type { SessionSummary } from "../live/tenant_feed.ts";
import type { StreamPort } from "./conversation_stream.ts";
import { newOffers } from "./_offers.ts";
import type { SocketSession } from "./_session.ts";
import { type ReadView, UnreadCounts } from "./_unread.ts";
import { waitingList, Watch } from "./_watch.ts";

/** What a socket reads of a conversation before watching it. */
interface WatchedView extends ReadView {
  visitor?: { id: string; verified: boolean };
}

// Each resumed conversation costs a read at its owner: a frame asks for a few.
const maxResumeEntries = 100;

/** The watches and tenant feeds of one socket. */
export class Subscriptions {
  #port: SocketSession & StreamPort;
  #principal: Principal;
  #watches = new Map<string, Watch>();
  /** Conversations asked for and not yet watched (or refused). */
  #asked = 0;
  #unread?: UnreadCounts;
  #stopFeed?: () => void;
  #stopQueue?: () => void;
  /** Offers already sent to this agent, by item and deadline. */
  #offersSent?: Set<string>;
  /** The waiting list last sent to this agent, so only changes are sent. */
  #queueShown = "";

  /** The subscriptions of `principal`'s socket, which `port` writes to. */
  constructor(port: SocketSession & StreamPort, principal: Principal) {
    this.#port = port;
    this.#principal = principal;
  }

  /**
   * Follow the tenant's status changes and queue: an agent from its hello, a
   * visitor from its first watch (without one it has nothing to be told).
   */
  followTenant(): void {
    if (this.#stopFeed) return;
    const { feed, queueFeed } = this.#port.ctx;
    const tenant = this.#principal.tenant;
    this.#stopFeed = feed.watch(tenant, (summary) => this.#summary(summary));
    this.#stopQueue = queueFeed.watch(tenant, (queue) => this.#queue(queue));
  }

  /** Whether the conversation is watched. */
  watching(conversation: string): boolean {
    return this.#watches.has(conversation);
  }

  /** Watch a conversation from its start unless it is watched already or the socket closed. */
  follow(conversation: string): Promise<void> {
    return this.#watches.has(conversation) ? Promise.resolve() : this.#watch(conversation, 0);
  }

  /** Watch each conversation after the client's last message, or redeliver from there. */
  async resume(conversations: Record<string, number>): Promise<void> {
    const entries = Object.entries(conversations);
    const added = entries.filter(([conversation]) => !this.#watches.has(conversation)).length;
    if (entries.length > maxResumeEntries || !this.#roomFor(added)) {
      return this.#port.error({
        code: "too_many",
        message: `resume at most ${maxResumeEntries} conversations a frame and ` +
          `watch at most ${this.#port.ctx.maxWatches} on a socket`,
      });
    }
    for (const [conversation, last] of entries) {
      // Already watched: the client may have dropped frames; redeliver from its point.
      const watch = this.#watches.get(conversation);
      if (watch) await watch.rewind(last);
      else await this.#watch(conversation, last);
    }
  }

  /** The unread counts of an agent's assigned conversations (listed summaries), for its welcome. */
  welcome(docs: Record<string, unknown>[]): Record<string, number> {
    return this.#unreadCounts().welcome(docs);
  }

  /** Message `seq` of the conversation was sent to the client. */
  delivered(conversation: string, seq: number, author: unknown): void {
    const watch = this.#watches.get(conversation);
    if (watch) this.#unread?.delivered(watch, seq, author);
  }

  /** Stop every watch and feed. */
  close(): void {
    this.#unread?.close();
    for (const watch of this.#watches.values()) {
      watch.stop();
      watch.unsubscribe();
    }
    this.#watches.clear();
    this.#stopFeed?.();
    this.#stopQueue?.();
  }

  #roomFor(added: number): boolean {
    return this.#watches.size + this.#asked + added <= this.#port.ctx.maxWatches;
  }

  #unreadCounts(): UnreadCounts {
    return this.#unread ??= new UnreadCounts(this.#port.ctx.readMarkers, this.#principal, {
      numbering: this.#port.numbering,
      send: (frame) => this.#port.send(frame),
      watches: () => this.#watches.values(),
      current: (watch) => this.#watches.get(watch.conversation) === watch,
    });
  }

  async #watch(conversation: string, from: number): Promise<void> {
    const port = this.#port;
    const principal = this.#principal;
    // A command in flight when the socket closed still follows its
    // conversation: after teardown, nothing would stop what it subscribed.
    if (!port.open) return;
    if (!this.#roomFor(1)) {
      return port.error({
        code: "too_many",
        message: `watch at most ${port.ctx.maxWatches} conversations on a socket`,
      });
    }
    this.followTenant();
    this.#asked++;
    const read = await port.ctx.backend.request(port.request(conversation, "read"))
      .finally(() => this.#asked--);
    const view = read.ok ? read.reply as WatchedView : null;
    // A visitor reaches only its own conversation, opened under the same kind
    // of identity (verified or anonymous); for anyone else it does not exist.
    const own = view?.visitor?.id === principal.sub &&
      view.visitor.verified === principal.verified;
    if (!view || (principal.role === "visitor" && !own)) {
      if (read.ok || read.error.code === "not_found") {
        return port.error({ code: "not_found", message: `no conversation ${conversation}` });
      }
      return port.error({
        code: read.error.code,
        message: clientMessage(read.error),
        retryAfterMs: 1000,
      });
    }
    if (this.#watches.has(conversation) || !port.open) return;
    const watch = new Watch(conversation, from, port.numbering, port);
    this.#watches.set(conversation, watch);
    this.#unreadCounts().watched(watch, view);
    watch.unsubscribe = port.ctx.hub.watch(
      principal.tenant,
      conversation,
      (update) => this.#update(watch, update),
    );
    this.#summary(view as SessionSummary);
    await watch.backfill();
  }

  #update(watch: Watch, update: ConversationUpdate): void {
    if (update.kind === "head") return watch.head(update);
    if (update.kind === "event") {
      if (update.type === "message") watch.offer(update.data);
      return;
    }
    if (update.sub === this.#principal.sub) return;
    if (update.kind === "typing") {
      return this.#port.send({
        t: "typing",
        conversation: watch.conversation,
        sub: update.sub,
        role: update.role,
        on: update.on,
      });
    }
    this.#port.send({
      t: "read",
      conversation: watch.conversation,
      sub: update.sub,
      seq: update.seq,
    });
  }

  // Status changes of the tenant's conversations: assignments reach the
  // agents concerned, closes and queue positions reach the watchers.
  #summary(summary: SessionSummary): void {
    const port = this.#port;
    const principal = this.#principal;
    const watch = this.#watches.get(summary.id);
    if (!watch) {
      if (
        principal.role !== "visitor" && summary.status === "assigned" &&
        summary.agent === principal.sub
      ) {
        port.send({ t: "assigned", conversation: summary.id, agent: summary.agent });
        this.follow(summary.id).catch(() => {});
      }
      if (principal.role !== "visitor") this.#queueChanged();
      return;
    }
    for (const frame of watch.statusChange(summary)) port.send(frame);
    if (principal.role === "visitor") {
      // The queue actor's places carry estimates; the edge's own list is the fallback.
      const queue = port.ctx.queueFeed.latest(principal.tenant);
      const moved = queue
        ? watch.placeChange(queue.place(watch.conversation))
        : watch.positionChange(port.ctx.feed.queue(principal.tenant));
      if (moved) port.send(moved);
    } else this.#queueChanged();
  }

  // The tenant's queue changed: visitors learn their place and wait, agents their offers.
  #queue(queue: QueueSnapshot): void {
    if (this.#principal.role !== "visitor") {
      for (const frame of newOffers(queue, this.#principal.sub, this.#offersSent ??= new Set())) {
        this.#port.send(frame);
      }
      return;
    }
    for (const watch of this.#watches.values()) {
      const moved = watch.placeChange(queue.place(watch.conversation));
      if (moved) this.#port.send(moved);
    }
  }

  #queueChanged(): void {
    const { frame, shown } = waitingList(this.#port.ctx.feed.queue(this.#principal.tenant));
    if (shown === this.#queueShown) return;
    this.#queueShown = shown;
    this.#port.send(frame);
  }
}
