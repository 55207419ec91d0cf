/**
 * Bearer tokens: HS256 JWTs carrying who the caller is (`sub`), which tenant
 * they act in (`tenant`) and their `role`.
 *
 * @example
 * ```ts
 * const token = await signToken("s3cret", { sub: "alice", tenant: "demo", role: "agent" }, 3600);
 * const principal = await verifyToken("s3cret", token); // { sub: "alice", tenant: "demo", … }
 * ```
 *
 * @module
 */
import { errors, jwtVerify, SignJWT } from "jose";
import type { Caller } from "../../actors/decider.ts";
import { isAddressPart } from "../ids.ts";
import { isAnonymousId } from "./visitor_identity.ts";

/** What a caller may be. */
export type Role = Caller["role"];

/** Every role, least privileged first. */
export const roles: readonly Role[] = ["visitor", "agent", "supervisor", "admin"];

/** The verified identity behind a request. */
export interface Principal {
  sub: string;
  tenant: string;
  role: Role;
  /**
   * Whether `sub` is a verified identity: always for staff; for a visitor
   * (claim `vrf`) only when a tenant vouched for it, else `sub` is an
   * anonymous id the server minted (`anon:…`).
   */
  verified: boolean;
  /** Expiry, epoch seconds. */
  exp: number;
}

/** The claims a token is signed for; a visitor's `verified` follows from its `sub`. */
export type Claims = Omit<Principal, "exp" | "verified">;

/** Why a token was refused. */
export type AuthFailure =
  | "missing"
  | "malformed"
  | "expired"
  | "forged"
  | "claims"
  /** A valid token, but not the credential this needs (a tenant's token on an ops route). */
  | "credential";

/** A request that cannot be authenticated; answered with 401. */
export class AuthError extends Error {
  override name = "AuthError";
  /** The stable error code clients see. */
  readonly code = "unauthorized";
  constructor(readonly reason: AuthFailure, message: string) {
    super(message);
  }
}

/** Options of {@linkcode signToken} and {@linkcode verifyToken}. */
export interface ClockOptions {
  /** The current time in epoch ms; `Date.now()` by default. */
  now?: number;
}

const algorithm = "HS256";

/**
 * Sign a token for `claims` valid for `ttlSeconds`. Throws a `TypeError` for
 * claims that {@linkcode verifyToken} would refuse.
 */
export async function signToken(
  secret: string,
  claims: Claims,
  ttlSeconds: number,
  options: ClockOptions = {},
): Promise<string> {
  const problem = claimsProblem(claims);
  if (problem) throw new TypeError(problem);
  const vrf = claims.role === "visitor" ? { vrf: !isAnonymousId(claims.sub) } : {};
  return await signPayload(
    secret,
    claims.sub,
    { tenant: claims.tenant, role: claims.role, ...vrf },
    ttlSeconds,
    options,
  );
}

/** The role of the ops credential: whoever runs the cluster, outside every tenant. */
export const opsRole = "ops";

/** The verified operator behind a request for the cluster's internals. */
export interface OpsPrincipal {
  sub: string;
  role: typeof opsRole;
  /** Expiry, epoch seconds. */
  exp: number;
}

/**
 * Sign an ops token for operator `sub`: role `ops` and no tenant, so no
 * tenant's API accepts it and only ops routes do.
 */
export async function signOpsToken(
  secret: string,
  sub: string,
  ttlSeconds: number,
  options: ClockOptions = {},
): Promise<string> {
  const problem = subProblem(sub);
  if (problem) throw new TypeError(problem);
  return await signPayload(secret, sub, { role: opsRole }, ttlSeconds, options);
}

/** Verify an ops token; throws {@linkcode AuthError}, also for every tenant's token. */
export async function verifyOpsToken(
  secret: string,
  token: string,
  options: ClockOptions = {},
): Promise<OpsPrincipal> {
  const payload = await verifiedPayload(secret, token, options);
  if (payload.role !== opsRole || "tenant" in payload) {
    throw new AuthError("credential", "this needs the ops credential: role ops and no tenant");
  }
  const problem = subProblem(payload.sub);
  if (problem) throw new AuthError("claims", problem);
  return { sub: payload.sub as string, role: opsRole, exp: payload.exp as number };
}

async function signPayload(
  secret: string,
  sub: string,
  payload: Record<string, unknown>,
  ttlSeconds: number,
  options: ClockOptions,
): Promise<string> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new TypeError("ttlSeconds must be a positive integer");
  }
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  return await new SignJWT(payload)
    .setProtectedHeader({ alg: algorithm, typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(keyOf(secret));
}

/**
 * Verify `token` and return who it names; throws {@linkcode AuthError}.
 *
 * Clients send the same token with every request, and verifying an HMAC
 * costs more than everything else an edge does for a claim, so tokens that
 * verified are remembered (per secret, the most recent 10,000) until they
 * expire.
 */
export async function verifyToken(
  secret: string,
  token: string,
  options: ClockOptions = {},
): Promise<Principal> {
  const now = options.now ?? Date.now();
  const verified = verifiedTokens(secret);
  const known = verified.get(token);
  if (known && known.exp * 1000 > now) return known;
  const principal = await verifyAfresh(secret, token, options);
  if (verified.size >= rememberedTokens) verified.delete(verified.keys().next().value!);
  verified.set(token, principal);
  return principal;
}

const rememberedTokens = 10_000;
const verifiedBySecret = new Map<string, Map<string, Principal>>();
const keysBySecret = new Map<string, Promise<CryptoKey>>();

function verifiedTokens(secret: string): Map<string, Principal> {
  let verified = verifiedBySecret.get(secret);
  if (!verified) verifiedBySecret.set(secret, verified = new Map());
  return verified;
}

async function verifiedPayload(
  secret: string,
  token: string,
  options: ClockOptions,
): Promise<Record<string, unknown>> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      algorithms: [algorithm],
      requiredClaims: ["exp", "sub"],
      currentDate: options.now === undefined ? undefined : new Date(options.now),
    });
    return payload;
  } catch (error) {
    throw joseFailure(error);
  }
}

async function verifyAfresh(
  secret: string,
  token: string,
  options: ClockOptions,
): Promise<Principal> {
  const payload = await verifiedPayload(secret, token, options);
  const problem = claimsProblem(payload) ?? verificationProblem(payload);
  if (problem) throw new AuthError("claims", problem);
  const { sub, tenant, role, exp } = payload as unknown as Principal;
  return { sub, tenant, role, verified: role !== "visitor" || payload.vrf === true, exp };
}

/** The token of an `Authorization: Bearer <token>` header; throws {@linkcode AuthError}. */
export function bearerToken(authorization: string | null): string {
  if (authorization === null || authorization.trim() === "") {
    throw new AuthError("missing", "missing Authorization header (expected: Bearer <token>)");
  }
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(authorization);
  if (!match) throw new AuthError("malformed", "Authorization header must be: Bearer <token>");
  return match[1];
}

function keyOf(secret: string): Uint8Array<ArrayBuffer> {
  if (secret === "") throw new TypeError("the JWT secret is empty");
  return new TextEncoder().encode(secret);
}

// Importing the key is a third of a verification; do it once per secret.
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keysBySecret.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", keyOf(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    keysBySecret.set(secret, key);
  }
  return key;
}

function subProblem(sub: unknown): string | null {
  return typeof sub !== "string" || sub.length === 0 || sub.length > 200
    ? "claim sub must be a string of 1-200 characters"
    : null;
}

function claimsProblem(claims: Record<string, unknown>): string | null {
  const { sub, tenant, role } = claims;
  const problem = subProblem(sub);
  if (problem) return problem;
  // The tenant becomes part of every actor address the caller reaches.
  if (typeof tenant !== "string" || !isAddressPart(tenant)) {
    return "claim tenant must be 1-128 letters, digits or ._:- starting with a letter or digit";
  }
  if (!roles.includes(role as Role)) return `claim role must be one of ${roles.join(", ")}`;
  return null;
}

// Tokens minted before visitors had anonymous ids carry no vrf and may name
// an id their holder chose; they are refused, and the widget bootstraps again.
function verificationProblem(payload: Record<string, unknown>): string | null {
  if (payload.role !== "visitor") return null;
  if (typeof payload.vrf !== "boolean") {
    return "claim vrf is missing: a visitor token says whether its identity is verified";
  }
  return payload.vrf === isAnonymousId(payload.sub as string)
    ? "claim vrf must be false exactly for anonymous (anon:) visitors"
    : null;
}

function joseFailure(error: unknown): unknown {
  if (error instanceof errors.JWTExpired) return new AuthError("expired", "token has expired");
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError("forged", "token signature does not verify");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new AuthError("forged", `token must be signed with ${algorithm}`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const problem = error.reason === "missing" ? "is missing" : `is invalid (${error.message})`;
    return new AuthError("claims", `claim ${error.claim} ${problem}`);
  }
  if (error instanceof errors.JOSEError) {
    return new AuthError("malformed", `token is not a valid JWT (${error.message})`);
  }
  return error;
}
