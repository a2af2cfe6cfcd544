// Per-environment identity and parameters (docs/design.md §3 "Parameters"):
// the test domain and the users' passwords are random so that neighbours' answers don't fit,
// and readable because learners type them into telnet/IMAP sessions by hand.
import { randomInt } from "node:crypto";
import type { EnvironmentParams } from "@/lib/machines";
import { hostAddress } from "./subnet-pool";

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
/** No i/l/o/0/1 (confusable) and no y/z (swapped on German keyboards: the course is German). */
const DOMAIN_LETTERS = "abcdefghjkmnpqrstuvwx";
const DOMAIN_DIGITS = "23456789";
const CONSONANTS = "bdfghkmnprstvw";
const VOWELS = "aeiu"; // no "o": it reads like 0 in some fonts

/** Local users on `mail` (the course text names alice and bob). */
export const USER_NAMES = ["alice", "bob"] as const;

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)]!;
}

function pickMany(alphabet: string, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += pick(alphabet);
  return out;
}

/** 12 lowercase letters or digits (lib/machines.ts environmentIdSchema): ~62 bits, unguessable in URLs. */
export function generateEnvironmentId(): string {
  return pickMany(ID_ALPHABET, 12);
}

/** e.g. `k7qa.example.test`: starts with a letter, 4 characters, `.test` is reserved (RFC 2606). */
export function generateDomain(): string {
  return `${pick(DOMAIN_LETTERS)}${pickMany(DOMAIN_LETTERS + DOMAIN_DIGITS, 3)}.example.test`;
}

/** e.g. `kavemu47`: three consonant-vowel syllables and two digits (~24 bits; the lab net is closed). */
export function generatePassword(): string {
  let word = "";
  for (let i = 0; i < 3; i++) word += pick(CONSONANTS) + pick(VOWELS);
  return word + pickMany(DOMAIN_DIGITS, 2);
}

export function generateParams(subnet: string): EnvironmentParams {
  const domain = generateDomain();
  return {
    domain,
    mailHost: `mail.${domain}`,
    users: USER_NAMES.map((name) => ({ name, password: generatePassword() })),
    subnet,
    mailIp: hostAddress(subnet, 2),
    partnerIp: hostAddress(subnet, 3),
  };
}
