import type http from "node:http";
import { UserError } from "../errors.js";

/**
 * Who may talk to a server obs runs on this machine. A web page the user opens may send requests
 * to 127.0.0.1 (its Origin is then the page's), or reach it under a name of its own that resolves
 * there (DNS rebinding: its Host is then that name). So a request whose Origin is another site's,
 * or whose Host is not the address served, is refused, unless the user allowed that origin.
 * Programs other than browsers send no Origin and are not affected.
 */

export interface OriginPolicy {
  /** The address listened on (--host). */
  host: string;
  port: number;
  /** Origins allowed besides the server's own (`*` allows any). */
  allowOrigins?: readonly string[];
}

const WILDCARD = new Set(["0.0.0.0", "::", "[::]", ""]);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

const bare = (host: string) => host.replace(/^\[(.*)\]$/, "$1").toLowerCase();

/** The names the served address answers to. */
function namesOf(policy: OriginPolicy): Set<string> {
  const names = new Set([bare(policy.host)]);
  if (LOOPBACK.test(policy.host)) for (const n of ["localhost", "127.0.0.1", "::1"]) names.add(n);
  for (const o of policy.allowOrigins ?? []) {
    try {
      names.add(bare(new URL(o).hostname));
    } catch {
      /* `*` or a bad origin: checked when the flag is read */
    }
  }
  return names;
}

/** Splits a Host header into name and port (the port the scheme implies when none is given). */
function hostHeader(value: string): { name: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) return null;
  return { name: bare(m[1]!), port: m[2] ? Number(m[2]) : 80 };
}

/** Why a request is refused (for a 403), or null when it may go on. */
export function refusal(req: http.IncomingMessage, policy: OriginPolicy): string | null {
  const allowed = policy.allowOrigins ?? [];
  const names = namesOf(policy);
  if (!WILDCARD.has(policy.host) && !allowed.includes("*")) {
    const host = hostHeader(req.headers.host ?? "");
    if (!host || !names.has(host.name) || host.port !== policy.port) {
      return `Host ${JSON.stringify(req.headers.host ?? "")} is not the address served (${policy.host}:${policy.port}); a page reaching obs under another name is refused (allow its origin with --allow-origin)`;
    }
  }
  const origin = req.headers.origin;
  if (origin === undefined || allowed.includes("*") || allowed.includes(origin)) return null;
  try {
    const u = new URL(origin);
    const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
    if ((u.protocol === "http:" || u.protocol === "https:") && names.has(bare(u.hostname)) && port === policy.port) return null;
  } catch {
    /* "null" or garbage: foreign */
  }
  return `Origin ${origin} is not allowed: a web page may not read or write obs's data (allow it with --allow-origin ${origin})`;
}

/** Checks an --allow-origin value: an origin (scheme://host[:port]) or `*`. */
export function parseOrigin(value: string): string {
  if (value === "*") return value;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UserError(`--allow-origin takes an origin like http://localhost:3000 (or * for any), got '${value}'`);
  }
  if (u.origin === "null" || value.replace(/\/$/, "") !== u.origin) throw new UserError(`--allow-origin takes an origin like http://localhost:3000 (scheme, host and port only), got '${value}'`);
  return u.origin;
}
