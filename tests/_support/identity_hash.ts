// What a tenant's server computes to vouch for a widget visitor.

/** Hex HMAC-SHA256 of `visitorId` under `key`. */
export async function identityHash(visitorId: string, key: string): Promise<string> {
  const encoder = new TextEncoder();
  const hmac = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, encoder.encode(visitorId)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
