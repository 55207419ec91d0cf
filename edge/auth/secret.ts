/**
 * The JWT secret of a standalone process, kept in its data directory so tokens
 * survive restarts without any configuration.
 *
 * @module
 */

/** Where the standalone secret lives inside `dataDir`. */
export function secretPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}/jwt-secret`;
}

/** The secret stored in `dataDir`, or undefined when there is none yet. */
export async function readSecret(dataDir: string): Promise<string | undefined> {
  try {
    const secret = (await Deno.readTextFile(secretPath(dataDir))).trim();
    return secret === "" ? undefined : secret;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * The secret stored in `dataDir`; when there is none, 32 random bytes
 * (base64url) are written there, readable by the owner only.
 */
export async function loadOrCreateSecret(
  dataDir: string,
): Promise<{ secret: string; created: boolean }> {
  const existing = await readSecret(dataDir);
  if (existing) return { secret: existing, created: false };
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  await Deno.mkdir(dataDir, { recursive: true });
  // Written whole under a private name, then linked into place: the link
  // fails if the file exists, so when two processes start at once only one
  // secret wins, and the other never reads a file that is still empty.
  const draft = `${secretPath(dataDir)}.${crypto.randomUUID()}`;
  await Deno.writeTextFile(draft, secret + "\n", { createNew: true, mode: 0o600 });
  try {
    await Deno.link(draft, secretPath(dataDir));
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    const winner = await readSecret(dataDir);
    if (!winner) throw new Error(`${secretPath(dataDir)} is empty: delete it or set SB_JWT_SECRET`);
    return { secret: winner, created: false };
  } finally {
    await Deno.remove(draft);
  }
  return { secret, created: true };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}
