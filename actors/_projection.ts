// The query-side row of an actor that exists, from its summary: the same
// for every kind, which differ only in who the assignee is.
import type { Projection } from "./decider.ts";

/** The projection of `state`, or null before the actor exists (status "none"). */
export function projectionOf(
  state: { status: string; createdAt: number; updatedAt: number },
  assignee: string | null,
  summary: () => Record<string, unknown>,
): Projection | null {
  if (state.status === "none") return null;
  const { status, createdAt, updatedAt } = state;
  return { status, assignee, createdAt, updatedAt, doc: summary() };
}
