/// <reference lib="dom" />
/**
 * The supervisors' live board: the queue (waiting, longest wait, the chats
 * at risk of the tenant's wait limit) from the socket's `queue` frames and
 * the page's clock, and every agent's presence, capacity and load from
 * `GET /v1/agents`, read every 5 s and on every queue change.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "htm/preact";
import { ago, visitorName } from "./_chat_view.ts";
import type { Desk } from "./_desk.ts";
import { atRiskAfterMs, queueHealth } from "./_queue_health.ts";

/** An agent as `GET /v1/agents` lists it. */
interface AgentEntry {
  agent: string;
  status: "online" | "away" | "offline";
  capacity: number;
  edges: string[];
  load: { chats: number; tickets: number };
}

const agentsEveryMs = 5000;

/** The board. */
export function Board({ desk }: { desk: Desk }) {
  const [agents, setAgents] = useState<AgentEntry[]>([]);
  const [atRiskMs, setAtRiskMs] = useState(atRiskAfterMs());
  const [error, setError] = useState<string | null>(null);
  const queued = desk.queue.value;
  const now = desk.now.value;
  useEffect(() => {
    desk.api.get<{ chat?: { waitLimitMinutes?: number } }>("/v1/admin/settings")
      .then((settings) => setAtRiskMs(atRiskAfterMs(settings))).catch(() => {});
  }, []);
  useEffect(() => {
    const load = async () => {
      try {
        const list = await desk.api.get<{ items: AgentEntry[] }>("/v1/agents");
        setAgents(list.items.sort((a, b) => a.agent.localeCompare(b.agent)));
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    };
    load();
    const timer = setInterval(load, agentsEveryMs);
    return () => clearInterval(timer);
  }, [queued.join(",")]);
  const conversations = desk.conversations.value;
  const waiting = queued.flatMap((id) => {
    const c = conversations[id];
    return c ? [{ id, since: c.createdAt }] : [];
  });
  const health = queueHealth(waiting, now, atRiskMs);
  const atRisk = new Set(health.atRisk.map((chat) => chat.id));
  const online = agents.filter((a) => a.status === "online").length;
  return html`
    <section class="board" aria-labelledby="board-title">
      <h2 id="board-title">Supervisor board</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <div class="tiles">
        <div class="tile"><span class="big">${desk.waiting.value}</span> waiting</div>
        <div class="tile"><span class="big">${health.longestMs === null
          ? "—"
          : ago(now - health.longestMs, now)}</span> longest wait</div>
        <div class=${atRisk.size ? "tile risk" : "tile"}><span class="big">${atRisk
          .size}</span> SLA at risk (waiting ${+(atRiskMs / 60_000).toFixed(1)} min or more)</div>
        <div class="tile"><span class="big">${online} / ${agents.length}</span> agents online</div>
      </div>
      <table class="waiting-list">
        <caption>Waiting</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Visitor</th><th scope="col">Waiting</th><th scope="col">SLA</th></tr></thead>
        <tbody>
          ${waiting.map((chat, i) =>
            html`
              <tr key=${chat.id} class=${atRisk.has(chat.id) ? "risk" : ""}>
                <td>${i + 1}</td>
                <th scope="row">${visitorName(conversations[chat.id])}</th>
                <td>${ago(chat.since, now)}</td>
                <td>${atRisk.has(chat.id) ? "at risk" : "ok"}</td>
              </tr>
            `
          )}
          ${waiting.length === 0 && html`
            <tr>
              <td colspan="4">Nobody is waiting</td>
            </tr>
          `}
        </tbody>
      </table>
      <table class="agents">
        <caption>Agents</caption>
        <thead><tr><th scope="col">Agent</th><th scope="col">Status</th><th scope="col">Open chats / capacity</th><th scope="col">Open tickets</th><th scope="col">Edges</th></tr></thead>
        <tbody>
          ${agents.map((a) =>
            html`
              <tr key=${a.agent}>
                <th scope="row">${a.agent}</th>
                <td class=${`presence ${a.status}`}>${a.status}</td>
                <td>${a.load.chats} / ${a.capacity}</td>
                <td>${a.load.tickets}</td>
                <td>${a.edges.length}</td>
              </tr>
            `
          )}
        </tbody>
      </table>
    </section>
  `;
}
