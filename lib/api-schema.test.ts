import { describe, expect, it } from "vitest";
import { createClassBody, joinBody, startSelfPacedBody } from "./api-schema";

const invisible = {
  "carriage return": "Eve\rInjected",
  "line feed": "Eve\nInjected",
  tab: "Eve\tX",
  escape: "\u001b[31mred",
  NUL: "a\u0000b",
  DEL: "a\u007fb",
  C1: "a\u009bb",
  "right-to-left override": "Mallory\u202Etxt.exe",
  "left-to-right isolate": "a\u2066b",
  "right-to-left mark": "a\u200Fb",
  "zero-width space": "ad\u200Bmin",
  BOM: "\uFEFFAda",
  "line separator": "a\u2028b",
  "lone surrogate": "a\uD800b",
  "tag character": "a\u{E0041}b",
};

describe("display names", () => {
  it.each(Object.entries(invisible))("refuses %s in join and self-paced names and class titles", (_kind, name) => {
    for (const result of [
      joinBody.safeParse({ code: "ABCDEF", name }),
      startSelfPacedBody.safeParse({ name }),
      createClassBody.safeParse({ title: name, labs: ["12-1"] }),
    ]) {
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe("invisibleChars");
    }
  });

  it("accepts names in any script, emoji sequences (ZWJ), ZWNJ; normalises to NFC and trims", () => {
    expect(joinBody.parse({ code: "abc-def", name: "  Jo\u0308rg  " })).toEqual({ code: "ABCDEF", name: "Jörg" });
    for (const name of ["Zoë", "Дмитрий", "李小龙", "می\u200Cخواهم", "👩‍💻 Ada", "O'Brien-Smith", "Anna\u00A0Lena"]) {
      expect(joinBody.parse({ code: "ABCDEF", name }).name).toBe(name.normalize("NFC"));
    }
  });

  it("a blank self-paced name means no name; a blank join name is refused", () => {
    expect(startSelfPacedBody.parse({ name: "   " })).toEqual({});
    expect(startSelfPacedBody.parse({})).toEqual({});
    expect(joinBody.safeParse({ code: "ABCDEF", name: " " }).error?.issues[0]?.message).toBe("nameEmpty");
    expect(joinBody.safeParse({ code: "ABCDEF", name: "x".repeat(41) }).error?.issues[0]?.message).toBe("nameLong");
  });
});
