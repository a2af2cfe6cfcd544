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

describe("config: disk limit", () => {
  it("defaults to 1 GiB per environment, enforced however the engine can", () => {
    expect(parseConfig(env({})).disk).toEqual({ limitBytes: 1024 * 1024 * 1024, mode: "auto" });
  });

  it("0 turns it off; hard or watchdog can be forced", () => {
    expect(parseConfig(env({ MAILLAB_DISK_LIMIT_MB: "0" })).disk.limitBytes).toBe(0);
    expect(parseConfig(env({ MAILLAB_DISK_LIMIT_MB: "300", MAILLAB_DISK_LIMIT_MODE: "watchdog" })).disk).toEqual({ limitBytes: 300 * 1024 * 1024, mode: "watchdog" });
    expect(parseConfig(env({ MAILLAB_DISK_LIMIT_MODE: "hard" })).disk.mode).toBe("hard");
  });

  it("refuses limits too small for Lab 12.2, fractions, words and unknown modes, naming the variable", () => {
    expect(() => parseConfig(env({ MAILLAB_DISK_LIMIT_MB: "100" }))).toThrow(/MAILLAB_DISK_LIMIT_MB must be 0 \(no limit\) or between 256/);
    expect(() => parseConfig(env({ MAILLAB_DISK_LIMIT_MB: "512.5" }))).toThrow(/MAILLAB_DISK_LIMIT_MB must be a whole number/);
    expect(() => parseConfig(env({ MAILLAB_DISK_LIMIT_MB: "lots" }))).toThrow(/MAILLAB_DISK_LIMIT_MB must be a number/);
    expect(() => parseConfig(env({ MAILLAB_DISK_LIMIT_MODE: "quota" }))).toThrow(/MAILLAB_DISK_LIMIT_MODE must be auto, hard or watchdog/);
  });
});
