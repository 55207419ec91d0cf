// What a version must bring to be registered, and the error a refusal is.
import type { RouteInput } from "../sdk.ts";

/** The largest plugin source accepted, in bytes. */
export const maxSourceBytes = 256 * 1024;

/** Codes of {@linkcode PluginError}. */
export type PluginErrorCode =
  | "bad_name"
  | "bad_options"
  | "source_too_large"
  | "already_loaded"
  | "load_failed"
  | "probe_failed"
  | "unknown_version";

/** A refused load, activation or shadow registration, with a code for the API. */
export class PluginError extends Error {
  readonly code: PluginErrorCode;

  constructor(code: PluginErrorCode, message: string) {
    super(message);
    this.name = "PluginError";
    this.code = code;
  }
}

const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;
// A name may be scoped, `<tenant>/<name>`, as the cluster's registry loads
// each tenant's plugins (tenant ids are up to 128 of `[A-Za-z0-9._:-]`).
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._@+:-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._@+-]{0,99})?$/;

/**
 * Check a registration's name, version and source size, and return its
 * options as a plain JSON copy.
 *
 * @throws {PluginError} `bad_name`, `source_too_large` or `bad_options`
 */
export function checkRegistration(
  name: string,
  version: string,
  source: string,
  options: unknown,
): RouteInput["options"] {
  if (!namePattern.test(name) || !versionPattern.test(version)) {
    throw new PluginError(
      "bad_name",
      "name and version are 1-100 letters, digits, ._@+- (a name may have a scope/ before it)",
    );
  }
  if (new TextEncoder().encode(source).length > maxSourceBytes) {
    throw new PluginError("source_too_large", `the source is over ${maxSourceBytes} bytes`);
  }
  return plainJsonObject(options);
}

function plainJsonObject(options: unknown): RouteInput["options"] {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(options));
  } catch {
    copy = undefined;
  }
  if (typeof copy !== "object" || copy === null || Array.isArray(copy)) {
    throw new PluginError("bad_options", "options must be a JSON object");
  }
  return copy as RouteInput["options"];
}
