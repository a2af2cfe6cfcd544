import { describe, expect, it } from "vitest";
import { clientOf, CLIENT_HEADERS, stampClient } from "./client";

describe("clientOf", () => {
  const forwarded = { "x-forwarded-for": "198.51.100.1, 203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "lab.example.org" };

  it("ignores X-Forwarded-* without a trusted proxy: anyone can send them", () => {
    expect(clientOf("192.0.2.1", forwarded, false)).toEqual({ address: "192.0.2.1", proto: "http" });
  });

  it("behind one trusted proxy: the entries the proxy appended (the last ones)", () => {
    expect(clientOf("127.0.0.1", forwarded, true)).toEqual({ address: "203.0.113.7", proto: "https", forwardedHost: "lab.example.org" });
    expect(clientOf("127.0.0.1", { "x-forwarded-proto": "https, http" }, true)).toEqual({ address: "127.0.0.1", proto: "http", forwardedHost: undefined });
  });

  it("replaces whatever the client sent under the app's own header names", () => {
    const headers: Record<string, string | string[] | undefined> = { [CLIENT_HEADERS.address]: "10.0.0.1", [CLIENT_HEADERS.proto]: "https", [CLIENT_HEADERS.forwardedHost]: "evil" };
    stampClient(headers, { address: "192.0.2.1", proto: "http" });
    expect(headers).toEqual({ [CLIENT_HEADERS.address]: "192.0.2.1", [CLIENT_HEADERS.proto]: "http" });
  });
});
