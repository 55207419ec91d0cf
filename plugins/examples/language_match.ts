/**
 * Example plugin: language match. An item in a language goes to an online
 * agent with room who speaks it, the one with the fewest open items of the
 * item's kind (equal counts: the one idle longest). When nobody who speaks
 * it has room the option `otherwise` decides: `wait` (the default) until
 * someone does, `escalate` to the team in the option `team`, or `any` agent
 * with room. An item without a language goes to any agent with room.
 *
 * @example Options
 * ```json
 * { "otherwise": "escalate", "team": "translators" }
 * ```
 *
 * @module
 */
import type { Candidate, Decision, ItemKind, RoutingPlugin } from "../sdk.ts";

function fewestItems(candidates: Candidate[], kind: ItemKind): Candidate {
  return candidates.reduce((best, c) => {
    const byLoad = c.load[kind] - best.load[kind];
    const byIdle = best.idleSinceMs - c.idleSinceMs;
    return byLoad < 0 || (byLoad === 0 && (byIdle < 0 || (byIdle === 0 && c.id < best.id)))
      ? c
      : best;
  });
}

export default {
  name: "language-match",
  version: "1.0.0",
  route({ item, candidates, options }): Decision {
    const free = candidates.filter((c) =>
      c.status === "online" && c.load[item.kind] < c.capacity[item.kind]
    );
    const language = item.language;
    const speakers = language ? free.filter((c) => c.languages.includes(language)) : free;
    if (speakers.length > 0) {
      const agent = fewestItems(speakers, item.kind);
      const why = language ? `speaks ${language}` : "no language asked";
      return { assign: agent.id, reason: `${why}; fewest open ${item.kind}s` };
    }
    const reason = `nobody with room speaks ${language ?? "any language"}`;
    if (options.otherwise === "escalate") {
      const team = typeof options.team === "string" ? options.team : undefined;
      return { escalate: { reason, ...(team && { team }) } };
    }
    if (options.otherwise === "any" && free.length > 0) {
      return { assign: fewestItems(free, item.kind).id, reason: `${reason}; any agent with room` };
    }
    return { wait: { reason } };
  },
} satisfies RoutingPlugin;
