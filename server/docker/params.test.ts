import { describe, expect, it } from "vitest";
import { environmentIdSchema, environmentParamsSchema } from "@/lib/machines";
import { generateEnvironmentId, generateParams, generatePassword } from "./params";

describe("environment params", () => {
  it("generates ids the API accepts", () => {
    for (let i = 0; i < 100; i++) expect(environmentIdSchema.safeParse(generateEnvironmentId()).success).toBe(true);
  });

  it("generates readable, per-environment parameters", () => {
    const params = generateParams("10.213.0.32/28");
    expect(environmentParamsSchema.parse(params)).toEqual(params);
    expect(params.domain).toMatch(/^[a-x][a-x2-9]{3}\.example\.test$/);
    expect(params.mailHost).toBe(`mail.${params.domain}`);
    expect(params.users.map((u) => u.name)).toEqual(["alice", "bob"]);
    expect(params.users[0]!.password).not.toBe(params.users[1]!.password);
    expect(params).toMatchObject({ subnet: "10.213.0.32/28", mailIp: "10.213.0.34", partnerIp: "10.213.0.35" });
  });

  it("avoids ambiguous characters and German keyboard traps in passwords", () => {
    for (let i = 0; i < 200; i++) {
      const pw = generatePassword();
      expect(pw).toMatch(/^([bdfghkmnprstvw][aeiu]){3}[2-9]{2}$/);
    }
  });
});
