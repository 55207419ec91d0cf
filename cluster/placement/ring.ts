/**
 * The consistent-hash ring that places every actor on one node (DESIGN §4).
 *
 * Each node is hashed onto a 32-bit circle at many virtual points; a key
 * belongs to the node of the first point at or after the key's own hash,
 * wrapping past the top. Adding a node therefore takes keys only for the new
 * node, and removing one hands only its keys to the others.
 *
 * @module
 */
import { hash32 } from "./hash.ts";

/**
 * An immutable placement view over a set of node ids. A membership change
 * builds a new ring; every process that holds the same set of ids (in any
 * order) and vnode count computes the same owner for every key.
 */
export class Ring {
  /**
   * Virtual points per node. A node's share strays from the mean by about
   * 1/√vnodes: with 1024 the busiest of up to ten nodes stayed under 1.15×
   * the mean for each of 200 random sets of node ids, while 512 broke that
   * bound for one set in two hundred and 256 for one in seven.
   */
  static readonly DEFAULT_VNODES = 1024;

  /** Virtual points per node. */
  readonly vnodes: number;
  readonly #nodes: readonly string[];
  readonly #points: Uint32Array;
  /** Index into `#nodes` of the owner of each point. */
  readonly #owners: Uint32Array;

  /**
   * Build the ring over `nodes` (duplicates ignored) with `vnodes` virtual
   * points each.
   */
  constructor(nodes: Iterable<string>, vnodes: number = Ring.DEFAULT_VNODES) {
    if (!Number.isInteger(vnodes) || vnodes < 1) {
      throw new RangeError(`vnodes must be a positive integer, not ${vnodes}`);
    }
    this.vnodes = vnodes;
    this.#nodes = Object.freeze([...new Set(nodes)].sort());
    const count = this.#nodes.length * vnodes;
    const points = new Uint32Array(count);
    const owners = new Uint32Array(count);
    for (let n = 0, i = 0; n < this.#nodes.length; n++) {
      for (let v = 0; v < vnodes; v++, i++) {
        points[i] = hash32(`${this.#nodes[n]}#${v}`);
        owners[i] = n;
      }
    }
    // Equal points are ordered by node id (owner indices follow the sorted
    // ids), so the same node wins a collision in every process.
    const order = Array.from({ length: count }, (_, i) => i)
      .sort((a, b) => points[a] - points[b] || owners[a] - owners[b]);
    this.#points = Uint32Array.from(order, (i) => points[i]);
    this.#owners = Uint32Array.from(order, (i) => owners[i]);
  }

  /** The node ids on the ring, sorted. */
  get nodes(): readonly string[] {
    return this.#nodes;
  }

  /**
   * The node that owns `key`.
   *
   * @throws {RangeError} when the ring has no nodes; check `nodes.length`
   * first where an empty view is possible (an edge before any node is up).
   */
  owner(key: string): string {
    const points = this.#points;
    if (points.length === 0) throw new RangeError(`no node can own "${key}": the ring is empty`);
    const h = hash32(key);
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#nodes[this.#owners[lo === points.length ? 0 : lo]];
  }
}
