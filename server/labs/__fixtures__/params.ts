import type { EnvironmentParams } from "@/lib/machines";

/** A fixed environment's parameters for tests that render templates or script env without Docker. */
export const SAMPLE_PARAMS: EnvironmentParams = {
  domain: "k7qa.example.test",
  mailHost: "mail.k7qa.example.test",
  users: [
    { name: "alice", password: "kavemu47" },
    { name: "bob", password: "ritapu23" },
  ],
  subnet: "10.213.0.16/28",
  mailIp: "10.213.0.18",
  partnerIp: "10.213.0.19",
};
