/**
 * A fast non-cryptographic string hash for placement: MurmurHash3 (x86, 32-bit,
 * seed 0) over the UTF-8 bytes of the string. It is a published, fixed
 * function, so every process — and any tool in another language — maps a key
 * to the same point.
 *
 * @module
 */

const encoder = new TextEncoder();
// Keys are short: one buffer serves them all without allocating; rare long
// strings get a buffer of their own rather than growing this one for good.
const scratch = new Uint8Array(3 * 1024);

/** MurmurHash3_x86_32 of the UTF-8 encoding of `text`, as an unsigned 32-bit integer. */
export function hash32(text: string): number {
  // UTF-8 needs at most three bytes per UTF-16 code unit.
  const bytes = text.length * 3 <= scratch.length ? scratch : new Uint8Array(text.length * 3);
  const length = encodeUtf8(text, bytes);
  const blocks = length & ~3;
  let h = 0;
  for (let i = 0; i < blocks; i += 4) {
    const k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    h ^= scramble(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  switch (length & 3) {
    case 3:
      tail ^= bytes[blocks + 2] << 16;
    // falls through
    case 2:
      tail ^= bytes[blocks + 1] << 8;
    // falls through
    case 1:
      tail ^= bytes[blocks];
      h ^= scramble(tail);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Keys are almost always ASCII; copying their code units skips encodeInto's
// per-call cost, a third of the hash's time on keys this short.
function encodeUtf8(text: string, into: Uint8Array): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return encoder.encodeInto(text, into).written;
    into[i] = unit;
  }
  return text.length;
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}
