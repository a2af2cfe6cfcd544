import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";
import { withoutTitleHeading } from "./lab-content";

describe("lab text rendering", () => {
  it("a table whose header row is empty gets no header row", () => {
    const html = renderMarkdown("| | |\n|---|---|\n| Netz | `10.0.0.0/28` |\n");
    expect(html).not.toContain("<thead>");
    expect(html).toContain("<td>Netz</td>");
    expect(renderMarkdown("| a | b |\n|---|---|\n| 1 | 2 |\n")).toContain("<th>a</th>");
  });

  it("raw HTML in lab texts is shown, not run", () => {
    expect(renderMarkdown("<script>alert(1)</script>")).not.toContain("<script>");
  });

  it("a task's opening heading that repeats the step title is dropped", () => {
    expect(withoutTitleHeading("### Kein offenes Relay\n\nText", "Kein offenes Relay")).toBe("\nText");
    expect(withoutTitleHeading("### Etwas anderes\n\nText", "Kein offenes Relay")).toBe("### Etwas anderes\n\nText");
  });
});
