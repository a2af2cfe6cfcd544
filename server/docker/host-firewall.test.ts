import { describe, expect, it } from "vitest";
import { isLabAddress } from "./host-firewall";

describe("isLabAddress", () => {
  it("recognises lab addresses in every form a socket reports", () => {
    expect(isLabAddress("10.213.0.2")).toBe(true);
    expect(isLabAddress("10.213.255.254")).toBe(true);
    expect(isLabAddress("::ffff:10.213.4.3")).toBe(true);
    expect(isLabAddress("::FFFF:10.213.4.3")).toBe(true);
    expect(isLabAddress("0:0:0:0:0:ffff:10.213.4.3")).toBe(true);
    expect(isLabAddress("::ffff:ad5:403")).toBe(true); // 10.213.4.3 in hex
  });

  it("lets everything else through", () => {
    for (const ip of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "10.214.0.2", "10.212.255.255", "172.17.0.1", "fe80::1%eth0", "", "garbage", "::ffff:10.213.0"]) {
      expect(isLabAddress(ip), ip).toBe(false);
    }
  });

  it("checks against another pool when given one", () => {
    expect(isLabAddress("192.168.7.9", "192.168.0.0/20")).toBe(true);
    expect(isLabAddress("10.213.0.2", "192.168.0.0/20")).toBe(false);
  });
});
