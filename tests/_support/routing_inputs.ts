// Routing inputs for router and plugin tests: a builder for readable
// examples and fast-check arbitraries for properties.
import fc from "fast-check";
import type { Candidate, ItemKind, RouteInput, RouteItem } from "../../plugins/sdk.ts";

/** A chat item with nothing asked of the agent, changed by `overrides`. */
export function item(overrides: Partial<RouteItem> = {}): RouteItem {
  return {
    tenant: "acme",
    kind: "chat",
    id: "c-1",
    priority: 0,
    tags: [],
    requiredSkills: [],
    optionalSkills: [],
    waitedMs: 0,
    ...overrides,
  };
}

/** An online agent with room (0 of 3 chats, 0 of 10 tickets), changed by `overrides`. */
export function agent(id: string, overrides: Partial<Candidate> = {}): Candidate {
  return {
    id,
    status: "online",
    skills: [],
    languages: ["en"],
    teams: ["support"],
    load: { chat: 0, ticket: 0 },
    capacity: { chat: 3, ticket: 10 },
    lastAssignedAt: null,
    idleSinceMs: 0,
    ...overrides,
  };
}

/** A route input of `candidates` for `item`. */
export function input(
  candidates: Candidate[],
  forItem: RouteItem = item(),
  options: RouteInput["options"] = {},
): RouteInput {
  return { item: forItem, candidates, options };
}

/** Whether `candidate` may take one more item of `kind`, as the queue checks it. */
export function hasRoomFor(candidate: Candidate, kind: ItemKind): boolean {
  return candidate.status === "online" && candidate.load[kind] < candidate.capacity[kind];
}

const skills = fc.subarray(["billing", "tech", "sales", "refunds"]);
const languages = fc.subarray(["en", "de", "fr"]);
const perKind = (max: number) =>
  fc.record({ chat: fc.integer({ min: 0, max }), ticket: fc.integer({ min: 0, max }) });

const candidateArb = (id: string): fc.Arbitrary<Candidate> =>
  fc.record({
    id: fc.constant(id),
    status: fc.constantFrom(
      "online" as const,
      "online" as const,
      "away" as const,
      "offline" as const,
    ),
    skills,
    languages,
    teams: fc.constant(["support"]),
    load: perKind(4),
    capacity: perKind(4),
    lastAssignedAt: fc.option(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 })),
    idleSinceMs: fc.integer({ min: 0, max: 100_000 }),
    experience: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
  });

const itemArb: fc.Arbitrary<RouteItem> = fc.record({
  tenant: fc.constant("acme"),
  kind: fc.constantFrom("chat" as const, "ticket" as const),
  id: fc.constant("item-1"),
  priority: fc.integer({ min: 0, max: 3 }),
  tags: fc.subarray(["vip", "returning"]),
  requiredSkills: fc.subarray(["billing", "tech"], { maxLength: 1 }),
  optionalSkills: fc.subarray(["sales", "refunds", "tech"]),
  language: fc.option(fc.constantFrom("en", "de", "fr", "ja"), { nil: undefined }),
  waitedMs: fc.integer({ min: 0, max: 600_000 }),
  previousAgent: fc.option(fc.constantFrom("a0", "a1", "a2", "gone"), { nil: undefined }),
});

/** Any route input: 0 to 6 candidates (ids a0…) of any status, load and capacity. */
export const routeInputArb: fc.Arbitrary<RouteInput> = fc.integer({ min: 0, max: 6 }).chain((n) =>
  fc.record({
    item: itemArb,
    candidates: fc.tuple(...Array.from({ length: n }, (_, i) => candidateArb(`a${i}`))),
    options: fc.constant({}),
  })
);
