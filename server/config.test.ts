import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
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

describe("config: runtime", () => {
  const tls = mkdtempSync(path.join(tmpdir(), "maillab-tls-"));
  for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(path.join(tls, f), "x");
  const swarm = { MAILLAB_RUNTIME: "swarm", MAILLAB_SWARM_MANAGER: "tcp://10.211.0.2:2376", MAILLAB_SWARM_TLS_DIR: tls, MAILLAB_REGISTRY: "10.211.0.2:5000" };

  it("defaults to the single engine, with no Swarm settings needed", () => {
    expect(parseConfig(env({}))).toMatchObject({ runtime: "engine", swarm: undefined });
  });

  it("MAILLAB_RUNTIME=swarm takes the manager, the certificates' folder, the node port and the registry", () => {
    expect(parseConfig(env(swarm))).toMatchObject({ runtime: "swarm", swarm: { manager: "tcp://10.211.0.2:2376", tlsDir: tls, nodePort: 2376, registry: "10.211.0.2:5000" } });
    expect(parseConfig(env({ ...swarm, MAILLAB_SWARM_NODE_PORT: "12376" })).swarm?.nodePort).toBe(12376);
  });

  it("stops the app naming what is missing or wrong", () => {
    expect(() => parseConfig(env({ MAILLAB_RUNTIME: "kubernetes" }))).toThrow(/MAILLAB_RUNTIME must be engine or swarm/);
    expect(() => parseConfig(env({ MAILLAB_RUNTIME: "swarm" }))).toThrow(/MAILLAB_SWARM_MANAGER is needed[\s\S]*MAILLAB_SWARM_TLS_DIR is needed[\s\S]*MAILLAB_REGISTRY is needed/);
    expect(() => parseConfig(env({ ...swarm, MAILLAB_SWARM_MANAGER: "10.211.0.2:2376" }))).toThrow(/MAILLAB_SWARM_MANAGER must be tcp:\/\/host:port/);
    expect(() => parseConfig(env({ ...swarm, MAILLAB_SWARM_TLS_DIR: path.join(tls, "nope") }))).toThrow(/MAILLAB_SWARM_TLS_DIR has no ca.pem, cert.pem, key.pem/);
    expect(() => parseConfig(env({ ...swarm, MAILLAB_REGISTRY: "https://reg/" }))).toThrow(/MAILLAB_REGISTRY must be host or host:port/);
    expect(() => parseConfig(env({ ...swarm, MAILLAB_SWARM_NODE_PORT: "0" }))).toThrow(/MAILLAB_SWARM_NODE_PORT/);
    expect(() => parseConfig(env({ ...swarm, MAILLAB_OCI_RUNTIME: "crun" }))).toThrow(/MAILLAB_OCI_RUNTIME is for MAILLAB_RUNTIME=engine/);
  });
});

describe("config: OCI runtime", () => {
  it("defaults to the engine's own runtime; takes a runtime's name", () => {
    expect(parseConfig(env({})).ociRuntime).toBe("default");
    expect(parseConfig(env({ MAILLAB_OCI_RUNTIME: "runc" })).ociRuntime).toBe("runc");
  });

  it("refuses what cannot be a runtime's name, naming the variable", () => {
    expect(() => parseConfig(env({ MAILLAB_OCI_RUNTIME: "../bin/sh" }))).toThrow(/MAILLAB_OCI_RUNTIME must be default or the name/);
    expect(() => parseConfig(env({ MAILLAB_OCI_RUNTIME: "" }))).toThrow(/MAILLAB_OCI_RUNTIME/);
  });
});
