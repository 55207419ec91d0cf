/**
 * An agent's desk as state: the socket (a {@linkcode ProtocolClient} over
 * every edge it may use), the REST API, the queue, the agent's
 * conversations with unread counts (head seq − the agent's read mark, kept
 * in storage), and one thread per opened conversation, paged backwards
 * from its newest messages, and the offers waiting for the agent's answer.
 * Views read the signals and call the actions.
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import {
  type CommandFrame,
  type MessageFrame,
  ProtocolClient,
  type ServerFrame,
} from "../client/protocol_client.ts";
import { Api } from "./_api.ts";
import { type Offer, offeredItem, Offers } from "./_offers.ts";
import { Thread } from "./_thread.ts";

/** A conversation's summary, as `GET /v1/conversations/:id` answers it. */
export interface Conversation {
  id: string;
  status: string;
  visitor: { id: string; name?: string };
  agent: string | null;
  subject?: string;
  /** The head seq (every message, notes included). */
  messages: number;
  createdAt: number;
  lastMessageAt?: number;
  closeReason?: string | null;
  ticketId?: string | null;
}

/** Who is signed in. */
export interface Agent {
  sub: string;
  role: string;
  tenant: string;
}

/** An agent's availability. */
export type Availability = "online" | "away" | "offline";

const typingShownMs = 6000;

/** The signed-in agent's live desk. */
export class Desk {
  readonly me = signal<Agent | null>(null);
  readonly connection = signal("connecting");
  readonly status = signal<Availability>("online");
  readonly capacity = signal(3);
  /** The waiting conversations' ids, longest waiting first, and how many wait in all. */
  readonly queue = signal<string[]>([]);
  readonly waiting = signal(0);
  readonly conversations = signal<Record<string, Conversation>>({});
  readonly selected = signal<string | null>(null);
  /** The agent's read mark per conversation. */
  readonly readMarks = signal<Record<string, number>>({});
  readonly typing = signal<Record<string, boolean>>({});
  readonly error = signal<string | null>(null);
  /** What the agent should know that is no error (an offer that lapsed). */
  readonly notice = signal<string | null>(null);
  readonly offers = new Offers();
  /** Ticket subjects, for the tickets on offer. */
  readonly subjects = signal<Record<string, string>>({});
  /** The page's clock (epoch ms), ticked every second: countdowns and waits. */
  readonly now = signal(Date.now());
  readonly mine = computed(() =>
    Object.values(this.conversations.value)
      .filter((c) => c.status === "assigned" && c.agent === this.me.value?.sub)
      .sort((a, b) => a.createdAt - b.createdAt)
  );
  /** The agent's unread messages in all, the queue and the offers: the title's badge. */
  readonly newWork = computed(() => {
    // An offered chat waits too: counted once.
    const offeredElsewhere = this.offers.pending.value.filter((o) =>
      o.kind !== "chat" || !this.queue.value.includes(o.id)
    );
    return this.waiting.value + offeredElsewhere.length +
      this.mine.value.reduce((n, c) => n + this.unread(c.id), 0);
  });

  readonly api: Api;
  readonly client: ProtocolClient;
  #threads = new Map<string, Thread>();
  #storage?: Storage;
  #typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #notify: (title: string, body: string) => void;
  #clock?: ReturnType<typeof setInterval>;

  constructor(options: {
    edges: string[];
    token: string;
    storage?: Storage;
    notify?: (title: string, body: string) => void;
  }) {
    this.#storage = options.storage;
    this.#notify = options.notify ?? (() => {});
    this.client = new ProtocolClient({ edges: options.edges, token: () => options.token });
    this.api = new Api(options.edges, options.token, () => this.client.edge);
    this.client.on("state", (frame) => this.connection.value = String(frame.state));
    this.client.on("welcome", (frame) => this.#welcome(frame));
    this.client.on("queue", (frame) => this.#queued(frame));
    this.client.on("msg", (frame) => this.#message(frame as unknown as MessageFrame));
    this.client.on("offer", (frame) => this.#offered(frame));
    // Assigned (accepted, or to someone else) or closed: no longer on offer.
    for (const type of ["assigned", "close"]) {
      this.client.on(type, (frame) => {
        this.offers.end("chat", String(frame.conversation));
        this.#refresh(String(frame.conversation));
      });
    }
    this.client.on("typing", (frame) => this.#typed(frame));
    this.client.on("read", (frame) => this.thread(String(frame.conversation)).seenBy(frame));
    this.client.on("err", (frame) => {
      if (!frame.id) this.error.value = String(frame.message);
    });
  }

  /** Connect, and load the agent's conversations. */
  start(): void {
    this.client.connect();
    this.#clock = setInterval(() => this.#tick(Date.now()), 1000);
  }

  stop(): void {
    clearInterval(this.#clock);
    this.client.close();
  }

  /** The thread of a conversation (created empty on first use). */
  thread(id: string): Thread {
    let thread = this.#threads.get(id);
    if (!thread) {
      thread = new Thread(id, this.api, this.client);
      this.#threads.set(id, thread);
    }
    return thread;
  }

  unread(id: string): number {
    const head = this.conversations.value[id]?.messages ?? 0;
    return Math.max(0, head - (this.readMarks.value[id] ?? 0));
  }

  /** Open a conversation: its newest messages, then live ones. */
  async select(id: string | null): Promise<void> {
    this.selected.value = id;
    if (!id) return;
    await this.#refresh(id);
    await this.thread(id).open(this.conversations.value[id]?.messages ?? 0);
    this.markRead();
  }

  /** Everything in the selected conversation was seen (the page is visible). */
  markRead(): void {
    const id = this.selected.value;
    if (!id || (globalThis.document && document.visibilityState !== "visible")) return;
    const last = this.thread(id).last;
    if (last <= (this.readMarks.value[id] ?? 0)) return;
    this.readMarks.value = { ...this.readMarks.value, [id]: last };
    this.#storage?.setItem(this.#storageKey(), JSON.stringify(this.readMarks.value));
    this.client.read(id, last);
  }

  /** Move the selection through the agent's conversations (`j`/`k`). */
  step(by: 1 | -1): void {
    const list = this.mine.value;
    if (list.length === 0) return;
    const at = list.findIndex((c) => c.id === this.selected.value);
    const next = list[(at + by + list.length) % list.length] ?? list[0];
    this.select(next.id);
  }

  setStatus(status: Availability, capacity = this.capacity.value): void {
    this.status.value = status;
    this.capacity.value = capacity;
    this.client.status(status, capacity);
  }

  async claim(id: string): Promise<void> {
    await this.#watchFromHead(id);
    await this.#command({ t: "claim", conversation: id });
    await this.select(id);
  }

  /** Accept or decline an offer; an accepted chat opens. */
  async answer(offer: Offer, accept: boolean): Promise<void> {
    if (!this.offers.end(offer.kind, offer.id)) return;
    const chat = offer.kind === "chat";
    if (accept && chat) await this.#watchFromHead(offer.id);
    await this.#command({ t: accept ? "accept" : "decline", ...offeredItem(offer) });
    if (accept && chat) await this.select(offer.id);
  }

  /** Decline the oldest offer outstanding (`d`). */
  declineOldest(): void {
    const offer = this.offers.oldest;
    if (offer) this.answer(offer, false).catch(() => {});
  }

  async transfer(id: string, to: string, reason?: string): Promise<void> {
    await this.#command({ t: "transfer", conversation: id, to, ...(reason && { reason }) });
    await this.#refresh(id);
  }

  /** Close the conversation and open the next of the agent's (`e`). */
  async closeAndNext(id: string): Promise<void> {
    await this.#command({ t: "close", conversation: id });
    await this.#refresh(id);
    const next = this.mine.value.find((c) => c.id !== id);
    await this.select(next?.id ?? null);
  }

  // Watched from its head before it is taken, the socket is not sent the
  // whole history again when the edge starts following it.
  async #watchFromHead(id: string): Promise<void> {
    await this.#refresh(id);
    this.client.watch(id, this.conversations.value[id]?.messages ?? 0);
  }

  async #command(frame: CommandFrame) {
    this.error.value = null;
    try {
      return await this.client.command(frame);
    } catch (error) {
      this.error.value = (error as Error).message;
      throw error;
    }
  }

  #welcome(frame: ServerFrame): void {
    const me = { sub: String(frame.sub), role: String(frame.role), tenant: String(frame.tenant) };
    this.me.value = me;
    try {
      this.readMarks.value = JSON.parse(this.#storage?.getItem(this.#storageKey()) ?? "{}");
    } catch {
      this.readMarks.value = {};
    }
    // A new socket starts online: tell it what the agent chose.
    this.client.status(this.status.value, this.capacity.value);
    this.#loadMine().catch((error) => this.error.value = (error as Error).message);
  }

  async #loadMine(): Promise<void> {
    const query = new URLSearchParams({ status: "assigned", assignee: this.me.value!.sub });
    query.set("limit", "200");
    const all: Conversation[] = [];
    for (let cursor: string | null = null; all.length === 0 || cursor;) {
      if (cursor) query.set("cursor", cursor);
      const page: { items: Conversation[]; nextCursor: string | null } = await this.api.get(
        `/v1/conversations?${query}`,
      );
      all.push(...page.items);
      cursor = page.nextCursor;
      if (page.items.length === 0) break;
    }
    this.#merge(all);
  }

  #queued(frame: ServerFrame): void {
    if (!Array.isArray(frame.conversations)) return;
    const ids = frame.conversations as string[];
    const fresh = ids.filter((id) => !this.queue.value.includes(id));
    this.queue.value = ids;
    this.waiting.value = Number(frame.waiting);
    this.offers.waiting(ids, ids.length >= this.waiting.value);
    for (const id of ids) if (!this.conversations.value[id]) this.#refresh(id);
    if (fresh.length) this.#notify("New chat waiting", `${this.waiting.value} in the queue`);
  }

  #message(message: MessageFrame): void {
    const id = message.conversation;
    this.thread(id).add(message);
    const known = this.conversations.value[id];
    if (known && message.seq > known.messages) {
      this.#merge([{ ...known, messages: message.seq, lastMessageAt: message.at }]);
    } else if (!known) this.#refresh(id);
    if (message.author?.role === "visitor") {
      this.typing.value = { ...this.typing.value, [id]: false };
      if (id !== this.selected.value || document.visibilityState !== "visible") {
        this.#notify(`New message`, message.body.slice(0, 120));
      }
    }
    if (id === this.selected.value) this.markRead();
  }

  #offered(frame: ServerFrame): void {
    const offer = this.offers.offered(frame);
    if (!offer) return;
    // The countdown starts from now, not from the last tick.
    this.now.value = Date.now();
    this.notice.value = null;
    if (offer.kind === "chat" && !this.conversations.value[offer.id]) this.#refresh(offer.id);
    if (offer.kind === "ticket") {
      this.api.get<{ subject: string }>(`/v1/tickets/${offer.id}`).then((ticket) =>
        this.subjects.value = { ...this.subjects.value, [offer.id]: ticket.subject }
      ).catch(() => {});
    }
    const seconds = Math.round((offer.deadline - Date.now()) / 1000);
    this.#notify(
      `${offer.kind === "chat" ? "Chat" : "Ticket"} offered`,
      `Accept within ${seconds} s`,
    );
  }

  #tick(now: number): void {
    this.now.value = now;
    const lapsed = this.offers.tick(now);
    // The queue sets an online agent who lets an offer lapse away: show it, and say so.
    if (lapsed.length && this.status.value === "online") {
      this.setStatus("away");
      this.notice.value =
        "An offer lapsed unanswered, so the queue set you away: choose online to take work again.";
    }
  }

  #typed(frame: ServerFrame): void {
    const id = String(frame.conversation);
    this.typing.value = { ...this.typing.value, [id]: frame.on !== false };
    clearTimeout(this.#typingTimers.get(id));
    this.#typingTimers.set(
      id,
      setTimeout(() => this.typing.value = { ...this.typing.value, [id]: false }, typingShownMs),
    );
  }

  async #refresh(id: string): Promise<void> {
    try {
      this.#merge([await this.api.get<Conversation>(`/v1/conversations/${id}`)]);
    } catch (error) {
      this.error.value = (error as Error).message;
    }
  }

  #merge(list: Conversation[]): void {
    const next = { ...this.conversations.value };
    for (const c of list) {
      const head = Math.max(c.messages, next[c.id]?.messages ?? 0, this.thread(c.id).last);
      next[c.id] = { ...c, messages: head };
      if (c.status !== "queued") this.offers.end("chat", c.id);
    }
    this.conversations.value = next;
  }

  #storageKey(): string {
    const me = this.me.value;
    return `switchboard-console:read:${me?.tenant}:${me?.sub}`;
  }
}
