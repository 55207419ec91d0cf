/**
 * The skills-weighted router. A candidate must have every required skill of
 * the item; among those with room, each scores its skill match share (the
 * item's optional skills and language it covers, 1 when the item asks for
 * none) times its free capacity share for the item's kind. The highest score
 * wins; equal scores go to the agent idle longest.
 *
 * @module
 */
import type { Candidate, Decision, RouteInput, RouteItem, RoutingPlugin } from "../sdk.ts";
import { freeShare, ranked, waitForRoom, withRoom } from "./_candidates.ts";

/** Route to the candidate with the best skill match × free capacity share. */
export function routeSkillsWeighted(input: RouteInput): Decision {
  const { item } = input;
  const skilled = withRoom(input).filter((candidate) =>
    item.requiredSkills.every((skill) => candidate.skills.includes(skill))
  );
  const scores = ranked(
    skilled,
    (candidate) => matchShare(item, candidate) * freeShare(candidate, item.kind),
  );
  if (scores.length === 0) {
    const required = item.requiredSkills.join(", ");
    return waitForRoom(item.kind, required && ` with the skills ${required}`);
  }
  return {
    assign: scores[0].agentId,
    reason: `skills-weighted: best skill match × free capacity (${scores[0].score.toFixed(2)})`,
    scores,
  };
}

/** The share of the item's optional skills and language that `candidate` covers. */
export function matchShare(item: RouteItem, candidate: Candidate): number {
  const wanted = item.optionalSkills.length + (item.language ? 1 : 0);
  if (wanted === 0) return 1;
  const skills = item.optionalSkills.filter((skill) => candidate.skills.includes(skill)).length;
  const language = item.language && candidate.languages.includes(item.language) ? 1 : 0;
  return (skills + language) / wanted;
}

/** The built-in `skills-weighted` router. */
export const skillsWeighted: RoutingPlugin = {
  name: "skills-weighted",
  version: "builtin",
  route: routeSkillsWeighted,
};
