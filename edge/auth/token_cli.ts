/**
 * Print a bearer token for trying the API by hand:
 *
 * ```sh
 * deno task token --tenant demo --role agent --sub alice [--ttl 3600]
 * deno task token --role ops --sub oncall   # the ops credential: no tenant
 * ```
 *
 * Signs with `SB_JWT_SECRET`, or else with the secret a standalone process
 * keeps in `${SB_DATA_DIR:-./data}/jwt-secret`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../cluster/process/config.ts";
import { opsRole, type Role, roles, signOpsToken, signToken } from "./auth.ts";
import { readSecret, secretPath } from "./secret.ts";

const usage = `usage: deno task token --tenant <tenant> --role <${
  roles.join("|")
}> --sub <subject> [--ttl <seconds, default 3600>]
       deno task token --role ${opsRole} --sub <operator> [--ttl <seconds>]`;

/** A command line or environment the token command cannot work with. */
export class TokenCommandError extends Error {
  override name = "TokenCommandError";
}

/** The token for the command line `args`, signed with the secret `env` points to. */
export async function tokenCommand(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        tenant: { type: "string" },
        role: { type: "string" },
        sub: { type: "string" },
        ttl: { type: "string", default: "3600" },
      },
    }));
  } catch (error) {
    throw new TokenCommandError(`${(error as Error).message}\n${usage}`);
  }
  const { tenant, role, sub, ttl } = values;
  const ops = role === opsRole;
  if (ops && tenant !== undefined) {
    throw new TokenCommandError("the ops credential names no tenant: leave out --tenant");
  }
  if ((!ops && !tenant) || !role || !sub) throw new TokenCommandError(usage);
  if (!ops && !roles.includes(role as Role)) {
    throw new TokenCommandError(`--role must be one of ${[...roles, opsRole].join(", ")}`);
  }
  const ttlSeconds = Number(ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new TokenCommandError("--ttl must be a positive whole number of seconds");
  }
  const config = loadConfig(env);
  const secret = config.jwtSecret ?? await readSecret(config.dataDir);
  if (!secret) {
    throw new TokenCommandError(
      `no JWT secret: set SB_JWT_SECRET, or start standalone once so it creates ${
        secretPath(config.dataDir)
      }`,
    );
  }
  try {
    return ops
      ? await signOpsToken(secret, sub, ttlSeconds)
      : await signToken(secret, { tenant: tenant!, role: role as Role, sub }, ttlSeconds);
  } catch (error) {
    if (error instanceof TypeError) throw new TokenCommandError(error.message);
    throw error;
  }
}

if (import.meta.main) {
  try {
    console.log(await tokenCommand(Deno.args, Deno.env.toObject()));
  } catch (error) {
    if (!(error instanceof TokenCommandError)) throw error;
    console.error(error.message);
    Deno.exit(2);
  }
}
