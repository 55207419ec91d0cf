/// <reference lib="dom" />
/**
 * The supervisors' board, as far as the API tells it: each agent's load
 * (open chats and tickets), and the queue (waiting, longest wait), updated
 * on every queue change and every 10 s. Presence and capacity are held by
 * the edges and not served by the API yet.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "htm/preact";
import { ago } from "./_chat_view.ts";
import type { Desk } from "./_desk.ts";

interface Load {
  chats: number;
  tickets: number;
}

/** The board. */
export function Board({ desk }: { desk: Desk }) {
  const [loads, setLoads] = useState<Record<string, Load>>({});
  const [error, setError] = useState<string | null>(null);
  const queued = desk.queue.value;
  useEffect(() => {
    const load = async () => {
      try {
        const [chats, tickets] = await Promise.all([
          desk.api.get<{ items: { agent: string | null }[] }>(
            "/v1/conversations?status=assigned&limit=200",
          ),
          desk.api.get<{ items: { assignee: string | null }[] }>(
            "/v1/tickets?status=assigned&limit=200",
          ),
        ]);
        const next: Record<string, Load> = {};
        for (const c of chats.items) {
          if (c.agent) (next[c.agent] ??= { chats: 0, tickets: 0 }).chats++;
        }
        for (const t of tickets.items) {
          if (t.assignee) (next[t.assignee] ??= { chats: 0, tickets: 0 }).tickets++;
        }
        setLoads(next);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    };
    load();
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, [queued.join(",")]);
  const oldest = queued.map((id) => desk.conversations.value[id]?.createdAt).filter(
    Boolean,
  ) as number[];
  return html`
    <section class="board" aria-labelledby="board-title">
      <h2 id="board-title">Supervisor board</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <div class="tiles">
        <div class="tile"><span class="big">${desk.waiting.value}</span> waiting</div>
        <div class="tile"><span class="big">${oldest.length
          ? ago(Math.min(...oldest))
          : "—"}</span> longest wait</div>
        <div class="tile"><span class="big">${Object.keys(loads)
          .length}</span> agents with work</div>
      </div>
      <table>
        <caption>Agents' load</caption>
        <thead><tr><th scope="col">Agent</th><th scope="col">Open chats</th><th scope="col">Open tickets</th></tr></thead>
        <tbody>
          ${Object.entries(loads).map(([agent, load]) =>
            html`
              <tr key=${agent}>
                <th scope="row">${agent}</th>
                <td>${load.chats}</td>
                <td>${load.tickets}</td>
              </tr>
            `
          )}
        </tbody>
      </table>
    </section>
  `;
}
