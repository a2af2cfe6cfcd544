// The language of an API answer, decided exactly like the pages decide theirs
// (server/pages/request.ts), so a page and the errors it shows never disagree:
// ?lang=, else the app's language cookie, else Accept-Language starting with "en", else German.
import { langSchema } from "@/lib/api-schema";
import type { Lang } from "@/lib/api-types";
import { LANG_COOKIE } from "@/lib/i18n";

const COOKIE = new RegExp(`(?:^|;\\s*)${LANG_COOKIE}=(de|en)(?:;|$)`);

export function langFrom(parts: { query?: string | null; cookie?: string | null; acceptLanguage?: string | null }): Lang {
  const fromQuery = langSchema.safeParse(parts.query);
  if (fromQuery.success) return fromQuery.data;
  const fromCookie = COOKIE.exec(parts.cookie ?? "")?.[1];
  if (fromCookie === "de" || fromCookie === "en") return fromCookie;
  return /^en/i.test(parts.acceptLanguage ?? "") ? "en" : "de";
}

export function langOf(req: Request): Lang {
  return langFrom({
    query: new URL(req.url).searchParams.get("lang"),
    cookie: req.headers.get("cookie"),
    acceptLanguage: req.headers.get("accept-language"),
  });
}
