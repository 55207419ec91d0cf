/**
 * The visitor's chat as state: the bootstrap (`POST /v1/widget/sessions`),
 * the protocol client, and what the panel shows (messages, typing, seen,
 * queue place, agent, unread count, close and rating). The view only
 * reads these signals and calls the actions.
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import { type MessageFrame, ProtocolClient, type ServerFrame } from "../client/protocol_client.ts";
import { SessionStore, type StoredSession } from "./_session.ts";

/** What the host page told about the visitor (`Switchboard.push(["identify", …])`). */
export interface VisitorIdentity {
  visitorId?: string;
  name?: string;
  email?: string;
  identityHash?: string;
}

/** Why the chat is not running, as the panel tells the visitor. */
export type Notice = { kind: "error"; text: string } | null;

/** Typing shows for this long after the last `typing` frame. */
const typingShownMs = 6000;
/** Typing is told again at most this often while the visitor types. */
const typingEveryMs = 2500;

/** One visitor's chat with the tenant of `widgetKey`, served by `edge`. */
export class VisitorChat {
  readonly messages = signal<MessageFrame[]>([]);
  readonly connection = signal<string>("closed");
  readonly open = signal(false);
  readonly agent = signal<string | null>(null);
  /** The place in line and, once the queue has seen assignments, the estimated wait. */
  readonly queue = signal<
    { position: number; waiting: number; estimatedWaitMs: number | null } | null
  >(null);
  readonly agentTyping = signal(false);
  /** The highest seq the agent has seen. */
  readonly agentSeen = signal(0);
  readonly seenSeq = signal(0);
  readonly closed = signal<StoredSession["closed"] | null>(null);
  readonly notice = signal<Notice>(null);
  readonly sending = signal(0);
  readonly unread = computed(() =>
    this.messages.value.filter((m) => m.seq > this.seenSeq.value && m.author?.role !== "visitor")
      .length
  );

  #edge: string;
  #widgetKey: string;
  #store: SessionStore;
  #session: StoredSession;
  #identity: VisitorIdentity = {};
  #topic?: string;
  #client?: ProtocolClient;
  #typingTimer?: ReturnType<typeof setTimeout>;
  #typingToldAt = 0;
  #agentTypingTimer?: ReturnType<typeof setTimeout>;
  #listeners = new Set<(message: MessageFrame) => void>();

  constructor(edge: string, widgetKey: string, storage: Storage | undefined) {
    this.#edge = edge;
    this.#widgetKey = widgetKey;
    this.#store = new SessionStore(widgetKey, storage);
    this.#session = this.#store.load();
    this.messages.value = this.#session.messages;
    this.seenSeq.value = this.#session.seenSeq;
    this.closed.value = this.#session.closed ?? null;
  }

  /** Resume a stored chat that is still going. */
  start(): void {
    const { token, conversationId, closed } = this.#session;
    if (token && conversationId && !closed) this.#connect(conversationId);
  }

  /** The host page says who the visitor is; another visitor than the stored one starts afresh. */
  identify(identity: VisitorIdentity): void {
    this.#identity = identity;
    if (identity.visitorId && this.#session.visitorId !== identity.visitorId) {
      this.#reset({ messages: [], seenSeq: 0 });
    }
  }

  /**
   * What the visitor's next chat is about: one of the topics of the tenant's
   * widget settings, whose skills route it (a chat going on keeps its own).
   */
  setTopic(topic: string | undefined): void {
    this.#topic = topic || undefined;
  }

  /** Call `listener` for every message the visitor receives from now on. */
  onMessage(listener: (message: MessageFrame) => void): void {
    this.#listeners.add(listener);
  }

  setOpen(open: boolean): void {
    this.open.value = open;
    if (open) this.markSeen();
  }

  /** Send the visitor's message, starting the chat first when there is none. */
  async send(body: string): Promise<void> {
    const text = body.trim();
    if (!text) return;
    this.notice.value = null;
    this.sending.value++;
    try {
      if (!this.#session.conversationId || this.#session.closed) await this.#bootstrap();
      this.#stopTyping();
      await this.#client!.send(this.#session.conversationId!, text);
    } catch (error) {
      this.notice.value = { kind: "error", text: (error as Error).message };
    } finally {
      this.sending.value--;
    }
  }

  /** The visitor types: told to the agent now and then, and "stopped" after a pause. */
  typed(): void {
    const conversation = this.#session.conversationId;
    if (!this.#client || !conversation || this.#session.closed) return;
    const now = Date.now();
    if (now - this.#typingToldAt > typingEveryMs) {
      this.#typingToldAt = now;
      this.#client.typing(conversation, true);
    }
    clearTimeout(this.#typingTimer);
    this.#typingTimer = setTimeout(() => this.#stopTyping(), typingEveryMs);
  }

  /** Tell the agent everything shown was seen (the panel is open). */
  markSeen(): void {
    const last = this.messages.value.at(-1)?.seq ?? 0;
    if (!this.open.value || last <= this.seenSeq.value) return;
    this.seenSeq.value = last;
    this.#save({ seenSeq: last });
    if (this.#session.conversationId) this.#client?.read(this.#session.conversationId, last);
  }

  /** Rate the closed chat (CSAT, 1–5). */
  async rate(score: number, comment?: string): Promise<void> {
    const conversation = this.#session.conversationId;
    if (!conversation || !this.#client) return;
    try {
      await this.#client.command({
        t: "rate",
        id: `rate:${conversation}`,
        conversation,
        score,
        ...(comment && { comment }),
      });
      this.closed.value = { ...this.closed.value!, rated: true };
      this.#save({ closed: this.closed.value });
    } catch (error) {
      this.notice.value = { kind: "error", text: (error as Error).message };
    }
  }

  /** Leave a closed chat behind; the next message starts a new one. */
  newChat(): void {
    this.#reset({ messages: [], seenSeq: 0, visitorId: this.#session.visitorId });
  }

  async #bootstrap(): Promise<void> {
    const previous = this.#session.conversationId;
    const going = previous && !this.#session.closed ? previous : undefined;
    let { response, answer } = await this.#askSession(going, this.#topic);
    if (answer.error?.code === "unknown_topic") {
      // A page naming a topic the tenant lacks should not keep its visitors from chatting.
      console.error(`switchboard: ${answer.error.message}; chatting without a topic`);
      ({ response, answer } = await this.#askSession(going, undefined));
    }
    if (!response.ok) {
      throw new Error(answer.error?.message ?? `bootstrap failed: ${response.status}`);
    }
    const keep = going === answer.conversationId;
    this.#save({
      visitorId: answer.visitorId,
      token: answer.token,
      expiresAt: answer.expiresAt,
      // A refresh of an expired token keeps the chat that is going on.
      ...(!keep && { conversationId: answer.conversationId, closed: undefined, messages: [] }),
    });
    if (!keep) {
      this.#client?.close();
      this.#client = undefined;
      this.closed.value = null;
      this.agent.value = null;
      this.agentSeen.value = 0;
      this.messages.value = [];
    }
    if (!this.#client) this.#connect(this.#session.conversationId!);
  }

  async #askSession(going: string | undefined, topic: string | undefined) {
    const { visitorId, name, email, identityHash } = this.#identity;
    const language = globalThis.navigator?.language;
    const response = await fetch(`${this.#edge}/v1/widget/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID() },
      body: JSON.stringify({
        widgetKey: this.#widgetKey,
        ...(visitorId ?? this.#session.visitorId
          ? { visitorId: visitorId ?? this.#session.visitorId }
          : {}),
        ...(name && { name }),
        ...(email && { email }),
        ...(identityHash && { identityHash }),
        // A fresh token for the chat going on, rather than a new chat.
        ...(going && { conversationId: going }),
        ...(topic && { topic }),
        ...(language && { language }),
      }),
    });
    return { response, answer: await response.json() };
  }

  #connect(conversationId: string): void {
    const last = this.#session.messages.at(-1)?.seq ?? 0;
    const client = new ProtocolClient({
      edges: [this.#edge],
      lastSeqs: { [conversationId]: last },
      token: async (reason) => {
        const expired = reason === "expired" ||
          (this.#session.expiresAt ?? 0) < Date.now() + 30_000;
        if (expired && this.#session.closed) {
          // Nothing left to follow: the next message bootstraps a new chat.
          client.close();
          throw new Error("the chat is over");
        }
        if (expired) await this.#bootstrap();
        return this.#session.token!;
      },
    });
    this.#client = client;
    client.on("state", (frame) => this.connection.value = frame.state as string);
    client.on("msg", (frame) => this.#message(frame as unknown as MessageFrame));
    client.on("typing", (frame) => this.#typing(frame));
    client.on("read", (frame) => {
      if (frame.role !== "visitor") this.agentSeen.value = Number(frame.seq);
    });
    client.on("assigned", (frame) => {
      this.agent.value = (frame.agent as string | null) ?? null;
      this.queue.value = null;
    });
    client.on("queue", (frame) => {
      if (frame.conversation === this.#session.conversationId) {
        const estimate = frame.estimatedWaitMs;
        this.queue.value = {
          position: Number(frame.position),
          waiting: Number(frame.waiting),
          estimatedWaitMs: typeof estimate === "number" ? estimate : null,
        };
      }
    });
    client.on("close", (frame) => {
      this.closed.value = { reason: frame.reason as string };
      this.queue.value = null;
      this.#save({ closed: this.closed.value });
    });
    client.on("err", (frame) => this.#refusal(frame));
    client.connect();
  }

  #message(message: MessageFrame): void {
    this.messages.value = [...this.messages.value, message];
    this.#save({ messages: this.messages.value });
    if (message.author?.role !== "visitor") {
      this.agentTyping.value = false;
      for (const listener of this.#listeners) listener(message);
    }
    this.markSeen();
  }

  #typing(frame: ServerFrame): void {
    if (frame.role === "visitor") return;
    this.agentTyping.value = frame.on !== false;
    clearTimeout(this.#agentTypingTimer);
    if (this.agentTyping.value) {
      this.#agentTypingTimer = setTimeout(() => this.agentTyping.value = false, typingShownMs);
    }
  }

  #refusal(frame: ServerFrame): void {
    // The stored conversation is gone (another tenant key, data reset): start afresh.
    if (frame.code === "not_found") return this.newChat();
    if (frame.code === "origin_not_allowed" || frame.code === "unauthorized") {
      this.notice.value = { kind: "error", text: String(frame.message) };
    }
  }

  #stopTyping(): void {
    clearTimeout(this.#typingTimer);
    if (this.#typingToldAt === 0) return;
    this.#typingToldAt = 0;
    const conversation = this.#session.conversationId;
    if (conversation) this.#client?.typing(conversation, false);
  }

  #reset(session: StoredSession): void {
    this.#client?.close();
    this.#client = undefined;
    this.#session = session;
    this.#store.save(session);
    this.messages.value = [];
    this.seenSeq.value = 0;
    this.closed.value = null;
    this.agent.value = null;
    this.queue.value = null;
    this.agentSeen.value = 0;
  }

  #save(patch: Partial<StoredSession>): void {
    this.#session = { ...this.#session, ...patch };
    this.#store.save(this.#session);
  }
}
