/**
 * Example plugin: VIP first. An item tagged `vip` (option `tag`) goes to the
 * most experienced online agent with room; any other item goes to the least
 * experienced one, so that the seniors stay free for the next VIP.
 * Experience is the candidate's `experience` (months), or the option
 * `experience`, a map of agent id to months, where the tenant keeps it.
 *
 * @example Options
 * ```json
 * { "tag": "vip", "experience": { "alice": 48, "bob": 6 } }
 * ```
 *
 * @module
 */
import type { Candidate, RouteInput, RoutingPlugin } from "../sdk.ts";

function experienceOf(input: RouteInput, candidate: Candidate): number {
  const table = input.options.experience;
  const listed = table && typeof table === "object" && !Array.isArray(table)
    ? (table as Record<string, unknown>)[candidate.id]
    : undefined;
  return typeof listed === "number" ? listed : candidate.experience ?? 0;
}

export default {
  name: "vip-first",
  version: "1.0.0",
  route(input) {
    const { item } = input;
    const tag = typeof input.options.tag === "string" ? input.options.tag : "vip";
    const vip = item.tags.includes(tag);
    const free = input.candidates.filter((c) =>
      c.status === "online" && c.load[item.kind] < c.capacity[item.kind]
    );
    if (free.length === 0) return { wait: { reason: `nobody has room for a ${item.kind}` } };
    const scores = free
      .map((c) => ({ candidate: c, score: experienceOf(input, c) }))
      .sort((a, b) =>
        (vip ? b.score - a.score : a.score - b.score) ||
        b.candidate.idleSinceMs - a.candidate.idleSinceMs ||
        (a.candidate.id < b.candidate.id ? -1 : 1)
      )
      .map(({ candidate, score }) => ({ agentId: candidate.id, score }));
    const [best] = scores;
    const reason = vip
      ? `${tag}: the most experienced agent with room (${best.score} months)`
      : `not ${tag}: the least experienced agent with room (${best.score} months)`;
    return { assign: best.agentId, reason, scores };
  },
} satisfies RoutingPlugin;
