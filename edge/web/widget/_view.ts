/// <reference lib="dom" />
/**
 * The widget's launcher and panel (Preact + htm), drawn from a
 * {@linkcode VisitorChat}'s signals.
 *
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "htm/preact";
import type { MessageFrame } from "../client/protocol_client.ts";
import type { VisitorChat } from "./_chat.ts";

/** The whole widget: launcher bubble and, when open, the panel. */
export function Widget({ chat }: { chat: VisitorChat }) {
  const launcher = useRef<HTMLButtonElement>(null);
  const open = chat.open.value;
  const unread = chat.unread.value;
  const close = () => {
    chat.setOpen(false);
    launcher.current?.focus();
  };
  return html`
    ${open && html`<${Panel} chat=${chat} onClose=${close} />`}
    <button
      ref=${launcher}
      class="launcher"
      type="button"
      aria-expanded=${open}
      aria-controls="sb-panel"
      aria-label=${open ? "Close chat" : unread ? `Open chat, ${unread} unread` : "Open chat"}
      onClick=${() => open ? close() : chat.setOpen(true)}
    >
      <svg viewBox="0 0 24 24" aria-hidden="true" width="28" height="28">
        <path fill="currentColor" d=${open ? closeIcon : bubbleIcon} />
      </svg>
      ${unread > 0 && !open && html`<span class="badge" aria-hidden="true">${unread}</span>`}
    </button>
  `;
}

const bubbleIcon =
  "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
const closeIcon =
  "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";

function Panel({ chat, onClose }: { chat: VisitorChat; onClose: () => void }) {
  const input = useRef<HTMLTextAreaElement>(null);
  const log = useRef<HTMLDivElement>(null);
  const [draft, setDraft] = useState("");
  const messages = chat.messages.value;
  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [messages.length, chat.agentTyping.value]);
  const submit = (event: Event) => {
    event.preventDefault();
    const body = draft;
    setDraft("");
    chat.send(body);
  };
  const closed = chat.closed.value;
  const lastMine = [...messages].reverse().find((m) => m.author?.role === "visitor");
  return html`
    <section
      id="sb-panel"
      class="panel"
      role="dialog"
      aria-label="Chat with us"
      onKeyDown=${(event: KeyboardEvent) => event.key === "Escape" && onClose()}
    >
      <header>
        <h2>${chat.agent.value ? `Chatting with ${chat.agent.value}` : "Chat with us"}</h2>
        <p class="status" aria-live="polite">${statusLine(chat)}</p>
      </header>
      <div class="log" ref=${log} role="log" aria-live="polite" aria-label="Messages" tabindex="0">
        ${messages.length === 0 &&
          html`<p class="hint">Ask us anything — we usually reply in a few minutes.</p>`}
        ${messages.map((m) => html`<${Message} key=${m.seq} message=${m} />`)}
        ${lastMine && chat.agentSeen.value >= lastMine.seq && html`<p class="seen">Seen</p>`}
        ${chat.agentTyping.value &&
          html`<p class="typing">${chat.agent.value ?? "Agent"} is typing…</p>`}
      </div>
      ${chat.notice.value && html`<p class="notice" role="alert">${chat.notice.value.text}</p>`}
      ${closed ? html`<${Closed} chat=${chat} />` : html`
        <form onSubmit=${submit}>
          <label for="sb-input" class="visually-hidden">Your message</label>
          <textarea
            id="sb-input"
            ref=${input}
            rows="2"
            maxlength="20000"
            placeholder="Write a message…"
            value=${draft}
            onInput=${(e: Event) => {
              setDraft((e.target as HTMLTextAreaElement).value);
              chat.typed();
            }}
            onKeyDown=${(e: KeyboardEvent) => {
              if (e.key === "Enter" && !e.shiftKey) submit(e);
            }}
          ></textarea>
          <button type="submit" disabled=${!draft.trim()}>Send</button>
        </form>
      `}
    </section>
  `;
}

function statusLine(chat: VisitorChat): string {
  const closed = chat.closed.value;
  if (closed?.reason === "converted") return "We'll reply by ticket";
  if (closed) return "This chat has ended";
  if (chat.connection.value === "offline") return "Reconnecting…";
  const queue = chat.queue.value;
  if (queue) return `You are number ${queue.position} in line${waitText(queue.estimatedWaitMs)}`;
  if (chat.agent.value) return "Online";
  return chat.messages.value.length ? "Waiting for an agent" : "We're here to help";
}

// "About 3 minutes" from the queue's estimate; nothing until it has one.
export function waitText(estimatedWaitMs: number | null): string {
  if (estimatedWaitMs === null) return "";
  const minutes = Math.round(estimatedWaitMs / 60_000);
  if (minutes < 1) return ", less than a minute";
  return `, about ${minutes} minute${minutes === 1 ? "" : "s"}`;
}

function Message({ message }: { message: MessageFrame }) {
  const who = message.author?.role ?? "system";
  const mine = who === "visitor";
  const time = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return html`
    <div class=${`msg ${mine ? "mine" : who === "system" ? "system" : "theirs"}`}>
      <span class="visually-hidden">${mine
        ? "You"
        : who === "system"
        ? "Notice"
        : message.author?.sub}:</span>
      <p>${message.body}</p>
      <time datetime=${new Date(message.at).toISOString()}>${time}</time>
    </div>
  `;
}

function Closed({ chat }: { chat: VisitorChat }) {
  const closed = chat.closed.value!;
  const [score, setScore] = useState(0);
  if (closed.reason === "converted") {
    return html`
      <div
        class="closed"><p>No one is available right now: we turned your chat into a ticket and will reply by email.</p>
            <button type="button" onClick=${() => chat.newChat()}>Start a new chat</button></div>
    `;
  }
  if (closed.rated) {
    return html`<div class="closed"><p>Thanks for your feedback!</p>
      <button type="button" onClick=${() => chat.newChat()}>Start a new chat</button></div>`;
  }
  return html`
    <div class="closed">
      <fieldset class="rating">
        <legend>How was this chat?</legend>
        ${[1, 2, 3, 4, 5].map((n) =>
          html`
            <button
              type="button"
              class=${n <= score ? "star on" : "star"}
              aria-label=${`${n} of 5`}
              aria-pressed=${n === score}
              onClick=${() => {
                setScore(n);
                chat.rate(n);
              }}
            >★</button>
          `
        )}
      </fieldset>
      <button type="button" onClick=${() => chat.newChat()}>Start a new chat</button>
    </div>
  `;
}
