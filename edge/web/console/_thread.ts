/**
 * One conversation's messages in the console: a contiguous run of seqs,
 * loaded from the newest page backwards (`GET …/messages?after=`) and
 * extended by live `msg` frames.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { MessageFrame, ProtocolClient, ServerFrame } from "../client/protocol_client.ts";
import type { Api } from "./_api.ts";

/** Messages fetched per page of history. */
const pageSize = 100;

/** A conversation's loaded messages, oldest first, without gaps. */
export class Thread {
  readonly id: string;
  readonly messages = signal<MessageFrame[]>([]);
  readonly loadingOlder = signal(false);
  /** The highest seq each other participant has seen, by `sub`. */
  readonly seen = signal<Record<string, number>>({});
  #api: Api;
  #client: ProtocolClient;
  #opened = false;
  /** Whether live messages are kept: only once the newest page is loaded. */
  #live = false;

  constructor(id: string, api: Api, client: ProtocolClient) {
    this.id = id;
    this.#api = api;
    this.#client = client;
  }

  get oldest(): number {
    return this.messages.value[0]?.seq ?? 0;
  }

  get last(): number {
    return this.messages.value.at(-1)?.seq ?? 0;
  }

  /** Whether the first message is loaded. */
  get complete(): boolean {
    return this.oldest === 1;
  }

  /**
   * Load the newest page, then follow the conversation from its last
   * message: the socket redelivers anything newer, so nothing falls between.
   */
  async open(head: number): Promise<void> {
    if (this.#opened) return;
    this.#opened = true;
    try {
      this.#merge(await this.#page(Math.max(0, head - pageSize), pageSize));
    } catch (error) {
      this.#opened = false;
      throw error;
    }
    this.#live = true;
    this.#client.watch(this.id, this.last);
  }

  /** Load the page before the oldest loaded message. */
  async older(): Promise<void> {
    if (this.complete || this.loadingOlder.value || this.messages.value.length === 0) return;
    this.loadingOlder.value = true;
    try {
      const after = Math.max(0, this.oldest - 1 - pageSize);
      this.#merge(await this.#page(after, this.oldest - 1 - after));
    } finally {
      this.loadingOlder.value = false;
    }
  }

  /** A live message: kept once the thread is open, when it extends the run. */
  add(message: MessageFrame): void {
    if (this.#live) this.#merge([message]);
  }

  seenBy(frame: ServerFrame): void {
    this.seen.value = { ...this.seen.value, [String(frame.sub)]: Number(frame.seq) };
  }

  #merge(items: MessageFrame[]): void {
    const sorted = [...items].sort((a, b) => a.seq - b.seq);
    const list = this.messages.value;
    if (list.length === 0 && sorted.length === 0) return;
    let first = list[0]?.seq ?? sorted[0].seq;
    let last = list.at(-1)?.seq ?? first - 1;
    const appended: MessageFrame[] = [];
    for (const item of sorted) if (item.seq === last + 1) appended.push(item), last++;
    const prepended: MessageFrame[] = [];
    for (const item of sorted.reverse()) {
      if (item.seq === first - 1) prepended.unshift(item), first--;
    }
    if (!appended.length && !prepended.length) return;
    this.messages.value = [...prepended, ...list, ...appended];
  }

  async #page(after: number, limit: number): Promise<MessageFrame[]> {
    const page = await this.#api.get<{ items: Omit<MessageFrame, "t" | "conversation">[] }>(
      `/v1/conversations/${this.id}/messages?after=${after}&limit=${limit}`,
    );
    return page.items.map((item) => ({ ...item, t: "msg", conversation: this.id }));
  }
}
