/// <reference lib="dom" />
/**
 * The console's page: the sign-in, then the desk (the offers to answer,
 * chats, tickets, and the board for supervisors), the keyboard shortcuts
 * and the title badge.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "htm/preact";
import { ChatList, ConversationView } from "./_chat_view.ts";
import { Tickets } from "./_tickets_view.ts";
import { Board } from "./_board_view.ts";
import { OffersPanel } from "./_offers_view.ts";
import type { Availability, Desk } from "./_desk.ts";
import type { Offer } from "./_offers.ts";

/** What `?` lists. */
export const shortcuts: [string, string][] = [
  ["j / k", "next / previous conversation"],
  ["r", "reply"],
  ["e", "close the conversation and open the next"],
  ["a / d", "accept / decline the oldest offer"],
  ["?", "show or hide these shortcuts"],
];

/** The signed-in desk. */
export function DeskPage({ desk, onSignOut }: { desk: Desk; onSignOut: () => void }) {
  const [tab, setTab] = useState<"chats" | "tickets" | "board">("chats");
  const [help, setHelp] = useState(false);
  const me = desk.me.value;
  const work = desk.newWork.value;
  // An accepted chat opens in the chats tab, an accepted ticket in the tickets tab.
  const accept = (offer: Offer | undefined) => {
    if (!offer) return;
    setTab(offer.kind === "chat" ? "chats" : "tickets");
    desk.answer(offer, true).catch(() => {});
  };
  useEffect(() => {
    document.title = work > 0 ? `(${work}) Switchboard console` : "Switchboard console";
  }, [work]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (
        target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey
      ) return;
      const selected = desk.selected.value;
      if (event.key === "?") setHelp((shown) => !shown);
      else if (event.key === "Escape") setHelp(false);
      else if (event.key === "j") desk.step(1);
      else if (event.key === "k") desk.step(-1);
      else if (event.key === "r") document.getElementById("reply")?.focus();
      else if (event.key === "e" && selected) desk.closeAndNext(selected);
      else if (event.key === "a") accept(desk.offers.oldest);
      else if (event.key === "d") desk.declineOldest();
      else return;
      event.preventDefault();
    };
    const onVisible = () => desk.markRead();
    document.addEventListener("keydown", onKey);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);
  const supervisor = me && me.role !== "agent";
  return html`
    <header class="top">
      <h1>Switchboard</h1>
      <nav aria-label="Sections" class="tabs">
        ${(["chats", "tickets", ...(supervisor ? ["board"] : [])] as const).map((t) =>
          html`
            <button type="button" aria-pressed=${tab === t} onClick=${() =>
              setTab(t as typeof tab)}>${t}</button>
          `
        )}
      </nav>
      <div class="me">
        <span class=${`conn ${desk.connection.value}`} role="status">${desk.connection.value ===
            "open"
          ? "connected"
          : "reconnecting…"}</span>
        <label>Status <select value=${desk.status.value}
          onChange=${(e: Event) =>
            desk.setStatus((e.target as HTMLSelectElement).value as Availability)}>
          <option value="online">online</option><option value="away">away</option><option value="offline">offline</option>
        </select></label>
        <label>Capacity <input type="number" min="0" max="100" value=${desk.capacity.value}
          onChange=${(e: Event) =>
            desk.setStatus(
              desk.status.value,
              Number((e.target as HTMLInputElement).value),
            )} /></label>
        <span class="who">${me ? `${me.sub} (${me.role}, ${me.tenant})` : "…"}</span>
        <button type="button" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    ${desk.error.value && html`<p class="error banner" role="alert">${desk.error.value}</p>`}
    ${desk.notice.value && html`<p class="notice banner" role="status">${desk.notice.value}</p>`}
    <${OffersPanel} desk=${desk} onAccept=${accept} />
    <main class=${`main ${tab}`}>
      ${tab === "chats" && html`
        <${ChatList} desk=${desk} />
        <${ConversationView} desk=${desk} />
      `}
      ${tab === "tickets" && me && html`<${Tickets} api=${desk.api} me=${me.sub} />`}
      ${tab === "board" && html`<${Board} desk=${desk} />`}
    </main>
    ${help && html`
      <div class="help" role="dialog" aria-label="Keyboard shortcuts">
        <h2>Keyboard shortcuts</h2>
        <dl>${shortcuts.map(([keys, what]) =>
          html`
            <dt><kbd>${keys}</kbd></dt>
            <dd>${what}</dd>
          `
        )}</dl>
        <button type="button" onClick=${() => setHelp(false)}>Close</button>
      </div>
    `}
  `;
}

/** The sign-in: a token (and edges), or the dev sign-in a standalone process offers. */
export function SignIn({ onSignIn }: { onSignIn: (token: string, edges: string[]) => void }) {
  const [token, setToken] = useState("");
  const [edges, setEdges] = useState(location.origin);
  const [dev, setDev] = useState<{ tenant: string; agents: Record<string, string> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch("/console/config.json").then((r) => r.json()).then((c) => setDev(c.devSignIn)).catch(
      () => {},
    );
  }, []);
  const edgeList = () => edges.split(/[\s,]+/).filter(Boolean).map((e) => e.replace(/\/$/, ""));
  const devSignIn = async (sub: string) => {
    const response = await fetch("/console/dev-sign-in", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sub }),
    });
    const answer = await response.json();
    if (!response.ok) return setError(answer.error?.message ?? "sign-in failed");
    onSignIn(answer.token, edgeList());
  };
  return html`
    <main class="signin">
      <h1>Switchboard console</h1>
      <form onSubmit=${(e: Event) => {
        e.preventDefault();
        if (token.trim()) onSignIn(token.trim(), edgeList());
      }}>
        <label for="token">Agent token (JWT)</label>
        <textarea id="token" rows="4" value=${token} autocomplete="off" spellcheck="false"
          onInput=${(e: Event) => setToken((e.target as HTMLTextAreaElement).value)}></textarea>
        <label for="edges">Edges (the console moves to the next when one fails)</label>
        <input id="edges" value=${edges} onInput=${(e: Event) =>
          setEdges((e.target as HTMLInputElement).value)} />
        <button type="submit">Sign in</button>
      </form>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${dev && html`<section aria-labelledby="dev-title" class="dev">
        <h2 id="dev-title">Dev sign-in (tenant ${dev.tenant})</h2>
        <p>This server made its own secret, so it offers one-click sign-in for the demo's agents.</p>
        ${
        Object.entries(dev.agents).map(([sub, role]) =>
          html`
            <button type="button" onClick=${() => devSignIn(sub)}>${sub} (${role})</button>
          `
        )
      }
      </section>`}
    </main>
  `;
}
