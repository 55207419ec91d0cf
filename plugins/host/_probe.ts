// The call every new version must answer before it is registered.
import type { RouteInput } from "../sdk.ts";

/** A small, ordinary input: one chat, two online agents with room, one busy one. */
export function probeInput(options: RouteInput["options"]): RouteInput {
  const agent = (id: string, chats: number) => ({
    id,
    status: "online" as const,
    skills: ["billing"],
    languages: ["en"],
    teams: ["support"],
    load: { chat: chats, ticket: 0 },
    capacity: { chat: 3, ticket: 10 },
    lastAssignedAt: null,
    idleSinceMs: 60_000,
    experience: 12,
  });
  return {
    item: {
      tenant: "probe",
      kind: "chat",
      id: "probe-chat",
      priority: 0,
      tags: [],
      requiredSkills: [],
      optionalSkills: ["billing"],
      language: "en",
      team: "support",
      waitedMs: 0,
    },
    candidates: [agent("probe-agent-1", 0), agent("probe-agent-2", 1), agent("probe-agent-3", 3)],
    options,
  };
}
