// Who is calling, as server/main.ts determines it for the route layer: the address (rate limits),
// the scheme the browser used (Secure cookies) and the host it asked for (the Origin check).
import type { IncomingHttpHeaders } from "node:http";

/** Set by server/main.ts on every request; whatever a client sends under these names is replaced. */
export const CLIENT_HEADERS = {
  address: "x-maillab-remote",
  proto: "x-maillab-proto",
  forwardedHost: "x-maillab-forwarded-host",
} as const;

export interface ClientInfo {
  address: string;
  proto: "http" | "https";
  /** The Host the browser asked a trusted proxy for (X-Forwarded-Host), if it says. */
  forwardedHost?: string;
}

/** The last entry of a comma-separated, possibly repeated header: the one our own proxy added. */
function lastValue(value: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(value) ? value.join(",") : value;
  const last = joined?.split(",").map((v) => v.trim()).filter(Boolean).at(-1);
  return last || undefined;
}

/**
 * Without a trusted proxy (MAILLAB_TRUST_PROXY=0) only the socket counts: X-Forwarded-* from
 * clients are ignored, since anyone can send them. With one proxy in front (=1), its entries
 * count: the last X-Forwarded-For address (the proxy appends the peer it saw; earlier entries
 * come from the client), X-Forwarded-Proto and X-Forwarded-Host.
 */
export function clientOf(socketAddress: string, headers: IncomingHttpHeaders, trustProxy: boolean): ClientInfo {
  if (!trustProxy) return { address: socketAddress, proto: "http" };
  const forwardedFor = lastValue(headers["x-forwarded-for"]);
  const proto = lastValue(headers["x-forwarded-proto"])?.toLowerCase() === "https" ? "https" : "http";
  return { address: forwardedFor ?? socketAddress, proto, forwardedHost: lastValue(headers["x-forwarded-host"]) };
}

/** Writes `client` into the request's headers for the route layer, replacing any client copy. */
export function stampClient(headers: IncomingHttpHeaders, client: ClientInfo): void {
  headers[CLIENT_HEADERS.address] = client.address;
  headers[CLIENT_HEADERS.proto] = client.proto;
  if (client.forwardedHost) headers[CLIENT_HEADERS.forwardedHost] = client.forwardedHost;
  else delete headers[CLIENT_HEADERS.forwardedHost];
}
