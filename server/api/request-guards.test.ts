import { describe, expect, it } from "vitest";
import { isApiError } from "../http-error";
import { checkStateChangingRequest, isSameOrigin, MAX_BODY_BYTES, readJson } from "./request-guards";

const own = { hosts: ["maillab.example.org"] };
const headers = (h: Record<string, string>) => new Headers(h);

async function statusOf(work: () => unknown): Promise<number | "ok"> {
  try {
    await work();
    return "ok";
  } catch (error) {
    if (isApiError(error)) return error.status;
    throw error;
  }
}

describe("isSameOrigin", () => {
  it.each([
    [{ origin: "http://maillab.example.org", host: "maillab.example.org" }, true],
    [{ origin: "https://maillab.example.org", host: "maillab.example.org:443" }, true],
    [{ origin: "http://maillab.example.org:8080", host: "maillab.example.org" }, false],
    [{ origin: "http://sub.maillab.example.org", host: "maillab.example.org" }, false],
    [{ origin: "null", host: "maillab.example.org" }, false],
    [{ origin: "garbage", host: "maillab.example.org" }, false],
    [{ "sec-fetch-site": "same-origin" }, true],
    [{ "sec-fetch-site": "none" }, true],
    [{ "sec-fetch-site": "same-site" }, false],
    [{ "sec-fetch-site": "cross-site" }, false],
    [{}, true],
  ])("%j → %s", (h, expected) => {
    const { host, ...rest } = h as Record<string, string>;
    expect(isSameOrigin(headers(rest), { hosts: host ? [host] : [] })).toBe(expected);
  });

  it("accepts MAILLAB_PUBLIC_URL's origin and a trusted proxy's forwarded host", () => {
    expect(isSameOrigin(headers({ origin: "https://lab.example.org" }), { publicUrl: "https://lab.example.org", hosts: ["127.0.0.1:3000"] })).toBe(true);
    expect(isSameOrigin(headers({ origin: "http://lab.example.org" }), { publicUrl: "https://lab.example.org", hosts: ["127.0.0.1:3000"] })).toBe(false);
    expect(isSameOrigin(headers({ origin: "https://lab.example.org" }), { hosts: ["127.0.0.1:3000", "lab.example.org"] })).toBe(true);
  });
});

describe("checkStateChangingRequest", () => {
  const req = (method: string, h: Record<string, string>, body?: string) =>
    new Request("http://maillab.example.org/api/x", { method, headers: { host: "maillab.example.org", ...h }, body });

  it("lets reads, JSON and bodyless state changes through", async () => {
    expect(await statusOf(() => checkStateChangingRequest(req("GET", { origin: "http://evil.example" }), own))).toBe("ok");
    expect(await statusOf(() => checkStateChangingRequest(req("POST", { "content-type": "application/json; charset=utf-8" }, "{}"), own))).toBe("ok");
    expect(await statusOf(() => checkStateChangingRequest(req("POST", {}), own))).toBe("ok");
  });

  it("refuses what forms can send (415) and other origins (403)", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp"]) {
      expect(await statusOf(() => checkStateChangingRequest(req("POST", { "content-type": type }, "{}"), own)), type).toBe(415);
    }
    expect(await statusOf(() => checkStateChangingRequest(req("POST", { "content-length": "2" }), own))).toBe(415);
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect(await statusOf(() => checkStateChangingRequest(req(method, { origin: "http://evil.example" }), own)), method).toBe(403);
    }
  });
});

describe("readJson", () => {
  /** A body that never ends: counts what the reader pulled. */
  function endless(chunkBytes: number) {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunkBytes;
        controller.enqueue(new Uint8Array(chunkBytes).fill(0x20));
      },
    });
    return { stream, pulled: () => pulled };
  }

  it("stops reading an endless chunked body right after the limit", async () => {
    const body = endless(1024);
    const req = new Request("http://x/api", { method: "POST", body: body.stream, duplex: "half" } as RequestInit);
    expect(await statusOf(() => readJson(req))).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(MAX_BODY_BYTES + 4 * 1024);
  });

  it("refuses by Content-Length before reading anything", async () => {
    const body = endless(1024);
    const req = new Request("http://x/api", { method: "POST", body: body.stream, duplex: "half", headers: { "content-length": String(MAX_BODY_BYTES + 1) } } as RequestInit);
    expect(await statusOf(() => readJson(req))).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(1024);
  });

  it("counts bytes: 16 KiB of characters in a multi-byte script is over the limit", async () => {
    const text = JSON.stringify({ name: "ä".repeat(9000) });
    expect(text.length).toBeLessThan(MAX_BODY_BYTES);
    expect(await statusOf(() => readJson(new Request("http://x/api", { method: "POST", body: text })))).toBe(413);
  });

  it("parses JSON, treats an empty body as {}, and refuses broken UTF-8 and broken JSON with 400", async () => {
    expect(await readJson(new Request("http://x/api", { method: "POST", body: '{"a":"ü"}' }))).toEqual({ a: "ü" });
    expect(await readJson(new Request("http://x/api", { method: "POST" }))).toEqual({});
    expect(await statusOf(() => readJson(new Request("http://x/api", { method: "POST", body: new Uint8Array([0x7b, 0xff, 0x7d]) })))).toBe(400);
    expect(await statusOf(() => readJson(new Request("http://x/api", { method: "POST", body: "{nope" })))).toBe(400);
  });
});
