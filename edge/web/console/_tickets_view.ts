/// <reference lib="dom" />
/**
 * Tickets in the console: the list with its filters (status, assignee), a
 * ticket's timeline (`GET /v1/tickets/:id/events`: audit history, comments,
 * notes, SLA deadlines and breaches) and the ticket actions of the API.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "htm/preact";
import type { Api } from "./_api.ts";

interface Ticket {
  id: string;
  subject: string;
  status: string;
  priority: string;
  assignee: string | null;
  team?: string | null;
  tags: string[];
  requester: string;
  createdAt: number;
  sla?: {
    firstResponseDueAt: number | null;
    resolutionDueAt: number | null;
    breached: { firstResponse: boolean; resolution: boolean };
  };
}

interface TicketEvent {
  seq: number;
  type: string;
  at: number;
  by?: { sub: string; role: string };
  [field: string]: unknown;
}

const statuses = ["", "new", "assigned", "in_progress", "pending", "resolved", "closed"];

/** The tickets page: list and, when one is picked, its detail. */
export function Tickets({ api, me }: { api: Api; me: string }) {
  const [status, setStatus] = useState("");
  const [assignee, setAssignee] = useState("");
  const [list, setList] = useState<Ticket[]>([]);
  const [picked, setPicked] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    const query = new URLSearchParams({ limit: "50" });
    if (status) query.set("status", status);
    if (assignee) query.set("assignee", assignee === "me" ? me : assignee);
    api.get<{ items: Ticket[] }>(`/v1/tickets?${query}`)
      .then((page) => (setList(page.items), setError(null)))
      .catch((e) => setError(e.message));
  };
  useEffect(load, [status, assignee]);
  return html`
    <div class="tickets">
      <section class="ticket-list" aria-labelledby="tickets-title">
        <h2 id="tickets-title">Tickets</h2>
        <form class="filters" onSubmit=${(e: Event) => (e.preventDefault(), load())}>
          <label>Status <select value=${status} onChange=${(e: Event) =>
            setStatus((e.target as HTMLSelectElement).value)}>
            ${statuses.map((s) => html`<option value=${s}>${s || "any"}</option>`)}
          </select></label>
          <label>Assignee <input value=${assignee} placeholder="me, or an id"
            onChange=${(e: Event) => setAssignee((e.target as HTMLInputElement).value)} /></label>
          <button type="submit">Refresh</button>
        </form>
        ${error && html`<p role="alert" class="error">${error}</p>`}
        <ul class="items">
          ${list.map((t) =>
            html`<li key=${t.id}>
            <button type="button" class=${picked === t.id ? "conv current" : "conv"} onClick=${() =>
              setPicked(t.id)}>
              <span class="who">${t.subject}</span>
              <span class="meta">${t.status} · ${t.priority}${
              t.assignee ? ` · ${t.assignee}` : ""
            }</span>
            </button></li>`
          )}
          ${list.length === 0 && html`<li class="empty">No tickets</li>`}
        </ul>
      </section>
      ${picked && html`<${TicketDetail} key=${picked} api=${api} id=${picked} onChange=${load} />`}
    </div>
  `;
}

function TicketDetail({ api, id, onChange }: { api: Api; id: string; onChange: () => void }) {
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [events, setEvents] = useState<TicketEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    api.get<Ticket>(`/v1/tickets/${id}`).then(setTicket).catch((e) => setError(e.message));
    api.get<{ items: TicketEvent[] }>(`/v1/tickets/${id}/events?after=0&limit=200`)
      .then((page) => setEvents(page.items)).catch((e) => setError(e.message));
  };
  useEffect(load, [id]);
  const act = (action: string, body: unknown = {}) =>
    api.post(`/v1/tickets/${id}/${action}`, body)
      .then(() => (setError(null), load(), onChange()))
      .catch((e) => setError(e.message));
  if (!ticket) {
    return html`
      <section class="ticket">
        <p>Loading…</p>
      </section>
    `;
  }
  const sla = ticket.sla;
  return html`
    <section class="ticket" aria-labelledby="ticket-title">
      <h2 id="ticket-title">${ticket.subject}</h2>
      <p class="meta">${ticket.id} · ${ticket.status} · ${ticket.priority} · requester ${ticket
        .requester}
        ${ticket.assignee ? ` · ${ticket.assignee}` : ""}${ticket.team
          ? ` · team ${ticket.team}`
          : ""}
        ${ticket.tags.length ? ` · ${ticket.tags.join(", ")}` : ""}</p>
      ${sla &&
        html`<p class="meta">First response due ${when(sla.firstResponseDueAt)}${
          sla.breached.firstResponse ? " (breached)" : ""
        }
        · resolution due ${when(sla.resolutionDueAt)}${
          sla.breached.resolution ? " (breached)" : ""
        }</p>`}
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <div class="actions wrap">
        ${["claim", "unassign", "resolve", "close", "reopen"].map((a) =>
          html`<button type="button" onClick=${() => act(a)}>${a}</button>`
        )}
        <${Field} label="Priority" options=${["low", "normal", "high", "urgent"]} onSubmit=${(
          v: string,
        ) => act("priority", { priority: v })} />
        <${Field} label="Assign to" onSubmit=${(v: string) => act("assign", { agent: v })} />
        <${Field} label="Transfer to agent" onSubmit=${(v: string) =>
          act("transfer", { to: { agent: v }, reason: "handed over in the console" })} />
        <${Field} label="Transfer to team" onSubmit=${(v: string) =>
          act("transfer", { to: { team: v }, reason: "handed over in the console" })} />
        <${Field} label="Tag" onSubmit=${(v: string) => act("tags", { tags: [v] })} />
        <${Field} label="Untag" onSubmit=${(v: string) => act("untag", { tags: [v] })} />
        <${Field} label="Escalate, reason" onSubmit=${(v: string) =>
          act("escalate", {
            level: 1 +
              Number((ticket as unknown as { escalationLevel?: number }).escalationLevel ?? 0),
            reason: v,
          })} />
      </div>
      <${CommentForm} onSubmit=${(body: string, visibility: string) =>
        act("comments", { body, visibility })} />
      <h3>Timeline</h3>
      <ol class="timeline">
        ${events.map((e) =>
          html`<li key=${e.seq}><time>${new Date(e.at).toLocaleString()}</time>
          <b>${e.type}</b> ${e.by ? `by ${e.by.sub}` : ""} <span class="detail">${
            detail(e)
          }</span></li>`
        )}
      </ol>
    </section>
  `;
}

function when(at: number | null): string {
  return at ? new Date(at).toLocaleString() : "—";
}

/** The event's own fields, shortly. */
function detail(event: TicketEvent): string {
  const { seq: _seq, type: _type, at: _at, by: _by, ...rest } = event;
  return Object.entries(rest).map(([k, v]) =>
    `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`
  )
    .join(" · ").slice(0, 400);
}

function Field(
  { label, options, onSubmit }: {
    label: string;
    options?: string[];
    onSubmit: (v: string) => void;
  },
) {
  const [value, setValue] = useState(options?.[0] ?? "");
  const id = `f-${label.replace(/\W+/g, "-").toLowerCase()}`;
  return html`<form class="inline" onSubmit=${(e: Event) => {
    e.preventDefault();
    if (value.trim()) onSubmit(value.trim());
  }}>
    <label for=${id}>${label}</label>
    ${
    options
      ? html`<select id=${id} value=${value} onChange=${(e: Event) =>
        setValue((e.target as HTMLSelectElement).value)}>
          ${options.map((o) => html`<option>${o}</option>`)}</select>`
      : html`<input id=${id} value=${value} onInput=${(e: Event) =>
        setValue((e.target as HTMLInputElement).value)} />`
  }
    <button type="submit">Go</button>
  </form>`;
}

function CommentForm({ onSubmit }: { onSubmit: (body: string, visibility: string) => void }) {
  const [body, setBody] = useState("");
  const [internal, setInternal] = useState(false);
  return html`
    <form class="composer" onSubmit=${(e: Event) => {
      e.preventDefault();
      if (!body.trim()) return;
      onSubmit(body.trim(), internal ? "internal" : "public");
      setBody("");
    }}>
      <label for="comment">Comment</label>
      <textarea id="comment" rows="3" value=${body} onInput=${(e: Event) =>
        setBody((e.target as HTMLTextAreaElement).value)}></textarea>
      <div class="composer-actions">
        <label><input type="checkbox" checked=${internal} onChange=${() =>
          setInternal(!internal)} /> Internal note</label>
        <button type="submit">Add comment</button>
      </div>
    </form>
  `;
}
