import {
  assertAlmostEquals,
  assertEquals,
  assertLessOrEqual,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { hash32 } from "../cluster/placement/hash.ts";
import { Ring } from "../cluster/placement/ring.ts";

const KEY_COUNT = 100_000;
const NODE_IDS = Array.from({ length: 11 }, (_, i) => `node-${i + 1}`);
const SIZES = [3, 4, 5, 6, 7, 8, 9, 10];

// Actor keys shaped like production ones (kind/tenant/ULID), from a fixed seed
// so that a failure reproduces.
const KEYS = actorKeys(KEY_COUNT);

/** Each key's owner under the first `n` node ids; computed once per n and shared. */
const owners = new Map<number, string[]>();
function ownersOf(n: number): string[] {
  let result = owners.get(n);
  if (!result) {
    const ring = new Ring(NODE_IDS.slice(0, n));
    result = KEYS.map((key) => ring.owner(key));
    owners.set(n, result);
  }
  return result;
}

Deno.test("hash32 is MurmurHash3_x86_32 (seed 0) of the UTF-8 bytes", () => {
  // Published vectors, and for non-ASCII and long input the reference C code.
  const vectors: [string, number][] = [
    ["", 0x00000000],
    ["abc", 0xb3dd93fa],
    ["test", 0xba6bd213],
    ["Hello, world!", 0xc0363e43],
    ["The quick brown fox jumps over the lazy dog", 0x2e4ff723],
    ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0xee925b90],
    ["ticket/démo/ünïcødé-€-𝄞", 0x7f6f60c3],
    ["x".repeat(2000), 0xf1e4654f],
    ["é".repeat(1500), 0x6c96efc6],
  ];
  for (const [text, expected] of vectors) {
    assertStrictEquals(hash32(text), expected, JSON.stringify(text.slice(0, 40)));
  }
});

Deno.test("the busiest node holds at most 1.15x the mean", () => {
  for (const n of SIZES) {
    const counts = new Map<string, number>();
    for (const owner of ownersOf(n)) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    assertEquals(counts.size, n, `n=${n}: every node owns keys`);
    const ratio = Math.max(...counts.values()) / (KEY_COUNT / n);
    assertLessOrEqual(ratio, 1.15, `n=${n}: max/mean ${ratio.toFixed(4)}`);
  }
});

Deno.test("adding the n+1th node moves 1/(n+1) ± 0.03 of the keys, all to it", () => {
  for (const n of SIZES) {
    const before = ownersOf(n);
    const after = ownersOf(n + 1);
    let moved = 0;
    const strays: string[] = [];
    for (let i = 0; i < KEY_COUNT; i++) {
      if (after[i] === before[i]) continue;
      moved++;
      if (after[i] !== NODE_IDS[n]) strays.push(KEYS[i]);
    }
    assertEquals(strays, [], `n=${n}: keys moved between old nodes`);
    assertAlmostEquals(moved / KEY_COUNT, 1 / (n + 1), 0.03, `n=${n}`);
  }
});

Deno.test("removing a node moves only its keys", () => {
  for (const n of SIZES) {
    const before = ownersOf(n);
    for (const removed of NODE_IDS.slice(0, n)) {
      const ring = new Ring(NODE_IDS.slice(0, n).filter((id) => id !== removed));
      const strays = KEYS.filter((key, i) =>
        before[i] !== removed && ring.owner(key) !== before[i]
      );
      assertEquals(strays, [], `n=${n}, ${removed} removed: other nodes' keys moved`);
    }
  }
});

Deno.test("rings over the same set agree, whatever the order of ids", () => {
  const ids = NODE_IDS.slice(0, 7);
  const a = new Ring(ids);
  const b = new Ring([...ids].reverse().concat(ids[3]));
  assertEquals(a.nodes, [...ids].sort());
  assertEquals(b.nodes, a.nodes);
  assertEquals(KEYS.filter((key) => a.owner(key) !== b.owner(key)), []);
});

Deno.test("an empty ring has no nodes and refuses to place a key", () => {
  const ring = new Ring([]);
  assertEquals(ring.nodes, []);
  assertThrows(() => ring.owner("ticket/demo/1"), RangeError, "ring is empty");
});

Deno.test("the vnode count must be a positive integer", () => {
  assertStrictEquals(new Ring(["node-1"]).vnodes, Ring.DEFAULT_VNODES);
  assertStrictEquals(new Ring(["node-1"], 128).owner("ticket/demo/1"), "node-1");
  for (const bad of [0, -1, 1.5, NaN]) assertThrows(() => new Ring(["node-1"], bad), RangeError);
});

function actorKeys(count: number): string[] {
  const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const kinds = ["ticket", "session", "queue"];
  const tenants = ["demo", "acme", "globex", "initech", "umbrella"];
  let state = 0x9e3779b9;
  // xorshift32: a fixed stream of pseudo-random 5-bit ULID digits.
  const digit = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return crockford[(state >>> 0) & 31];
  };
  return Array.from({ length: count }, (_, i) => {
    let ulid = "01J";
    while (ulid.length < 26) ulid += digit();
    return `${kinds[i % kinds.length]}/${tenants[i % tenants.length]}/${ulid}`;
  });
}
