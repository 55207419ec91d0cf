/**
 * An agent's desk as state: the socket (a {@linkcode ProtocolClient} over
 * every edge it may use), the REST API, the queue, the agent's
 * conversations with unread counts (head seq − the agent's read mark, kept
 * in storage), and one thread per opened conversation, paged backwards
 * from its newest messages. Views read the signals and call the actions.
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import { type MessageFrame, ProtocolClient, type ServerFrame } from "../client/protocol_client.ts";
import { Api } from "./_api.ts";
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
  readonly mine = computed(() =>
    Object.values(this.conversations.value)
      .filter((c) => c.status === "assigned" && c.agent === this.me.value?.sub)
      .sort((a, b) => a.createdAt - b.createdAt)
  );
  /** The agent's unread messages in all, and the queue: the title's badge. */
  readonly newWork = computed(() =>
    this.waiting.value + this.mine.value.reduce((n, c) => n + this.unread(c.id), 0)
  );

  readonly api: Api;
  readonly client: ProtocolClient;
  #threads = new Map<string, Thread>();
  #storage?: Storage;
  #typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #notify: (title: string, body: string) => void;

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
    this.client.on("assigned", (frame) => this.#refresh(String(frame.conversation)));
    this.client.on("close", (frame) => this.#refresh(String(frame.conversation)));
    this.client.on("typing", (frame) => this.#typed(frame));
    this.client.on("read", (frame) => this.thread(String(frame.conversation)).seenBy(frame));
    this.client.on("err", (frame) => {
      if (!frame.id) this.error.value = String(frame.message);
    });
  }

  /** Connect, and load the agent's conversations. */
  start(): void {
    this.client.connect();
  }

  stop(): void {
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
    // Watched from its head before the claim, the socket is not sent the
    // whole history again when the claim makes the edge follow it.
    await this.#refresh(id);
    this.client.watch(id, this.conversations.value[id]?.messages ?? 0);
    await this.#command({ t: "claim", conversation: id });
    await this.select(id);
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

  async #command(frame: { t: string; conversation: string; [field: string]: unknown }) {
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
    }
    this.conversations.value = next;
  }

  #storageKey(): string {
    const me = this.me.value;
    return `switchboard-console:read:${me?.tenant}:${me?.sub}`;
  }
}
