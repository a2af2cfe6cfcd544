import { describe, expect, it } from "vitest";
import { parseConfig } from "./config";

const env = (vars: Record<string, string>) => vars as NodeJS.ProcessEnv;

describe("config: proxy and public URL", () => {
  it("defaults: no trusted proxy, public URL from the request", () => {
    expect(parseConfig(env({}))).toMatchObject({ trustProxy: false, publicUrl: undefined });
  });

  it("MAILLAB_TRUST_PROXY=1 trusts one proxy; anything else but 0/1 stops the app naming the variable", () => {
    expect(parseConfig(env({ MAILLAB_TRUST_PROXY: "1" })).trustProxy).toBe(true);
    expect(() => parseConfig(env({ MAILLAB_TRUST_PROXY: "yes" }))).toThrow(/MAILLAB_TRUST_PROXY must be 0 or 1/);
  });

  it("MAILLAB_PUBLIC_URL must be an http(s) origin without a path", () => {
    expect(parseConfig(env({ MAILLAB_PUBLIC_URL: "https://lab.example.org/" })).publicUrl).toBe("https://lab.example.org");
    expect(() => parseConfig(env({ MAILLAB_PUBLIC_URL: "lab.example.org" }))).toThrow(/MAILLAB_PUBLIC_URL must be a URL/);
    expect(() => parseConfig(env({ MAILLAB_PUBLIC_URL: "ftp://lab.example.org" }))).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseConfig(env({ MAILLAB_PUBLIC_URL: "https://example.org/maillab" }))).toThrow(/must not have a path/);
  });
});
