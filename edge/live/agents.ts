/**
 * The tenant's agents as `GET /v1/agents` lists them: presence from the
 * replicated presence map, load (open chats and tickets) from the replicated
 * load counters. An agent with load but no live lease is listed offline.
 *
 * @module
 */
import { loadOf } from "../../cluster/process/load_feed.ts";
import type { SharedState } from "../../cluster/process/shared_state.ts";
import type { AgentPresence, Presence } from "./presence.ts";

/** One agent of the tenant, for dashboards. */
export interface AgentSummary extends AgentPresence {
  load: { chats: number; tickets: number };
}

/** Every agent of `tenant` that is present or holds open work, by id. */
export async function agentSummaries(
  presence: Presence,
  shared: SharedState,
  tenant: string,
): Promise<AgentSummary[]> {
  const present = new Map((await presence.agents(tenant)).map((agent) => [agent.agent, agent]));
  const load = loadOf(shared, tenant);
  const ids = [...new Set([...present.keys(), ...load.keys()])].sort();
  return ids.map((agent) => ({
    ...(present.get(agent) ?? offline(agent)),
    load: load.get(agent) ?? { chats: 0, tickets: 0 },
  }));
}

function offline(agent: string): AgentPresence {
  return { agent, status: "offline", capacity: 0, skills: [], languages: [], teams: [], edges: [] };
}
