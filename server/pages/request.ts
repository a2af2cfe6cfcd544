import { cookies, headers } from "next/headers";
import { getContext } from "../context";
import { langSchema } from "@/lib/api-schema";
import type { Lang } from "@/lib/api-types";
import { LANG_COOKIE } from "@/lib/i18n";

/** For server components: the page language (cookie, then Accept-Language, then German). */
export async function pageLang(): Promise<Lang> {
  const jar = await cookies();
  const fromCookie = langSchema.safeParse(jar.get(LANG_COOKIE)?.value);
  if (fromCookie.success) return fromCookie.data;
  const accept = (await headers()).get("accept-language") ?? "";
  return /^en/i.test(accept) ? "en" : "de";
}

/** For server components: who is looking at the page. */
export async function pagePrincipal() {
  const jar = await cookies();
  const cookie = jar.getAll().map((c) => `${c.name}=${encodeURIComponent(c.value)}`).join("; ");
  const { auth } = getContext();
  return { principal: auth.authenticate({ cookie }), learnerId: auth.learnerOf({ cookie }) };
}
