/**
 * Reading a JSON request body without trusting the client about its size.
 *
 * @module
 */
import { HttpError } from "./_responses.ts";

/** The largest request body the API accepts, in bytes. */
export const maxBodyBytes = 64 * 1024;

const jsonMediaType = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * The JSON object in `request`'s body, or `{}` when the body is empty (so a
 * command without arguments needs no body). Throws {@linkcode HttpError}:
 * 413 past `limit` bytes, 415 for a body that is not declared JSON, 400 for
 * JSON that does not parse or is not an object.
 */
export async function readJsonObject(
  request: Request,
  limit: number = maxBodyBytes,
): Promise<Record<string, unknown>> {
  const bytes = await readBounded(request, limit);
  if (bytes.length === 0) return {};
  const contentType = request.headers.get("content-type") ?? "";
  if (!jsonMediaType.test(contentType)) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `the body must be application/json, not "${contentType || "(none)"}"`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new HttpError(400, "malformed_json", `the body is not valid JSON: ${errorText(error)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "validation", "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "payload_too_large", `the body must be at most ${limit} bytes`);
}

// Content-Length is only a claim: a chunked body has none, and a lying one is
// cut off here once the bytes actually read pass the limit.
async function readBounded(request: Request, limit: number): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? 0);
  if (declared > limit) throw tooLarge(limit);
  // A declared empty body is the framing's word, not a claim (the server
  // reads no bytes for it), so its stream is not read: that costs a command
  // without arguments (a claim) more than the rest of its body handling.
  if (length?.trim() === "0" && !request.headers.has("transfer-encoding")) {
    return new Uint8Array();
  }
  if (request.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
