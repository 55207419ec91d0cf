/// <reference lib="dom" />
/**
 * The console's chat column: the queue, the agent's conversations with
 * their unread counts, and the open conversation (history, typing, seen,
 * reply or internal note, claim, transfer, close).
 *
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "htm/preact";
import type { MessageFrame } from "../client/protocol_client.ts";
import type { Conversation, Desk } from "./_desk.ts";
import { VirtualList } from "./_virtual_list.ts";

const typingEveryMs = 2500;

/** How long ago `at` was, shortly. */
export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

/** The visitor's name; "Visitor" for an anonymous one (an `anon:` id means nothing to agents). */
export function visitorName(c: Conversation | undefined): string {
  if (!c) return "…";
  return c.visitor.name ??
    (c.visitor.id.startsWith("anon:") ? "Visitor" : c.visitor.id.slice(0, 14));
}

/** The queue and the agent's conversations. */
export function ChatList({ desk }: { desk: Desk }) {
  const conversations = desk.conversations.value;
  return html`
    <nav class="lists" aria-label="Conversations">
      <section aria-labelledby="queue-title">
        <h2 id="queue-title">Queue <span class="count">${desk.waiting.value}</span></h2>
        <ol class="items">
          ${desk.queue.value.map((id, i) => {
            const c = conversations[id];
            return html`
              <li key=${id} class="item">
                <span class="who">${i + 1}. ${visitorName(c)}</span>
                <span class="meta">waiting ${c ? ago(c.createdAt) : "…"}</span>
                <button type="button" onClick=${() =>
                  desk.claim(id)} aria-label=${`Claim chat with ${visitorName(c)}`}>Claim</button>
              </li>
            `;
          })}
          ${desk.queue.value.length === 0 && html`<li class="empty">Nobody is waiting</li>`}
        </ol>
      </section>
      <section aria-labelledby="mine-title">
        <h2 id="mine-title">My conversations</h2>
        <ul class="items">
          ${desk.mine.value.map((c) => {
            const unread = desk.unread(c.id);
            const current = desk.selected.value === c.id;
            return html`
              <li key=${c.id}>
                <button type="button" class=${current ? "conv current" : "conv"}
                  aria-current=${current ? "true" : undefined} onClick=${() => desk.select(c.id)}>
                              <span class="who">${visitorName(c)}</span>
                              ${desk.typing.value[c.id] && html`<span class="meta">typing…</span>`}
                              ${unread > 0 &&
                                html`<span class="unread" aria-label=${`${unread} unread`}>${unread}</span>`}
                            </button>
              </li>
            `;
          })}
          ${desk.mine.value.length === 0 && html`<li class="empty">No conversation yet</li>`}
        </ul>
      </section>
    </nav>
  `;
}

/** The open conversation. */
export function ConversationView({ desk }: { desk: Desk }) {
  const id = desk.selected.value;
  if (!id) {
    return html`
      <section class="conversation empty-state">
        <p>Pick a conversation, or claim one from the queue.</p>
        <p>Press <kbd>?</kbd> for the keyboard shortcuts.</p>
      </section>
    `;
  }
  const c = desk.conversations.value[id];
  const thread = desk.thread(id);
  const messages = thread.messages.value;
  const mine = c?.status === "assigned" && c.agent === desk.me.value?.sub;
  const lastAgent = [...messages].reverse().find((m) =>
    m.author?.role !== "visitor" && m.kind === "text"
  );
  // The visitor's seqs skip internal notes: count the loaded ones out.
  const visitorSeen = c ? thread.seen.value[c.visitor.id] ?? 0 : 0;
  const seenByVisitor = lastAgent !== undefined &&
    visitorSeen >= lastAgent.seq -
        messages.filter((m) => m.kind === "note" && m.seq < lastAgent.seq).length;
  const lastIncoming = [...messages].reverse().find((m) => m.author?.role === "visitor");
  return html`
    <section class="conversation" aria-labelledby="conv-title">
      <header class="conv-head">
        <div>
          <h2 id="conv-title">${visitorName(c)}</h2>
          <p class="meta">${c?.status ?? "…"}${c?.agent ? ` · ${c.agent}` : ""}${c?.ticketId
            ? ` · ticket ${c.ticketId}`
            : ""}</p>
        </div>
        <${Actions} desk=${desk} c=${c} mine=${mine} />
      </header>
      ${thread.loadingOlder.value && html`<p class="meta loading">Loading earlier messages…</p>`}
      <${VirtualList}
        items=${messages}
        keyOf=${(m: MessageFrame) => m.seq}
        row=${(m: MessageFrame) => html`<${Row} m=${m} visitor=${visitorName(c)} />`}
        onTop=${() => thread.older()}
        label="Messages"
      />
      <p class="visually-hidden" aria-live="polite">${lastIncoming
        ? `${visitorName(c)}: ${lastIncoming.body}`
        : ""}</p>
      <p class="signals" aria-live="polite">
        ${desk.typing.value[id] ? `${visitorName(c)} is typing…` : ""}
        ${seenByVisitor ? " Seen by the visitor" : ""}
      </p>
      ${c?.status !== "closed" && html`<${Composer} desk=${desk} id=${id} />`}
    </section>
  `;
}

function Row({ m, visitor }: { m: MessageFrame; visitor: string }) {
  const role = m.author?.role ?? "system";
  const author = m.kind === "note"
    ? `Note · ${m.author?.sub}`
    : role === "visitor"
    ? visitor
    : m.author?.sub ?? "system";
  const cls = m.kind === "note"
    ? "note"
    : role === "visitor"
    ? "theirs"
    : role === "system"
    ? "system"
    : "mine";
  return html`
    <article class=${`msg ${cls}`}>
      <header><b>${author}</b>
          <time datetime=${new Date(m.at).toISOString()}>${new Date(m.at)
            .toLocaleTimeString()}</time>
          <span class="seq">#${m.seq}</span></header>
      <p>${m.body}</p>
    </article>
  `;
}

function Actions({ desk, c, mine }: { desk: Desk; c?: Conversation; mine: boolean }) {
  const [to, setTo] = useState("");
  if (!c || c.status === "closed") return null;
  if (c.status === "queued") {
    return html`<div class="actions"><button type="button" onClick=${() =>
      desk.claim(c.id)}>Claim</button></div>`;
  }
  if (!mine) return null;
  return html`
    <div class="actions">
      <form class="inline" onSubmit=${(e: Event) => {
        e.preventDefault();
        if (to.trim()) desk.transfer(c.id, to.trim()).then(() => setTo(""));
      }}>
        <label for="transfer-to" class="visually-hidden">Transfer to agent</label>
        <input id="transfer-to" placeholder="agent id" value=${to}
          onInput=${(e: Event) => setTo((e.target as HTMLInputElement).value)} />
        <button type="submit">Transfer</button>
      </form>
      <button type="button" class="danger" onClick=${() =>
        desk.closeAndNext(c.id)}>Close <kbd>e</kbd></button>
    </div>
  `;
}

function Composer({ desk, id }: { desk: Desk; id: string }) {
  const [draft, setDraft] = useState("");
  const [note, setNote] = useState(false);
  const typedAt = useRef(0);
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => setDraft(""), [id]);
  const submit = (event: Event) => {
    event.preventDefault();
    const body = draft.trim();
    if (!body) return;
    setDraft("");
    typedAt.current = 0;
    desk.client.typing(id, false);
    desk.client.send(id, body, { kind: note ? "note" : "text" }).catch((error) =>
      desk.error.value = (error as Error).message
    );
  };
  return html`
    <form class=${note ? "composer noting" : "composer"} onSubmit=${submit}>
      <label for="reply" class="visually-hidden">${note ? "Internal note" : "Reply"}</label>
      <textarea id="reply" ref=${input} rows="3" value=${draft}
        placeholder=${note
          ? "Internal note — the visitor never sees it"
          : "Reply… (Enter sends, Shift+Enter for a new line)"}
        onInput=${(e: Event) => {
          setDraft((e.target as HTMLTextAreaElement).value);
          const now = Date.now();
          if (!note && now - typedAt.current > typingEveryMs) {
            typedAt.current = now;
            desk.client.typing(id, true);
          }
        }}
        onKeyDown=${(e: KeyboardEvent) => {
          if (e.key === "Enter" && !e.shiftKey) submit(e);
          if (e.key === "Escape") (e.target as HTMLElement).blur();
        }}></textarea>
      <div class="composer-actions">
        <label><input id="note-toggle" type="checkbox" checked=${note} onChange=${() =>
          setNote(!note)} /> Internal note</label>
        <button type="submit" disabled=${!draft.trim()}>${note ? "Add note" : "Send"}</button>
      </div>
    </form>
  `;
}
