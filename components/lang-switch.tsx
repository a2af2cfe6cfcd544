"use client";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-types";
import { LANG_COOKIE, translator } from "@/lib/i18n";

/** Switches the page to the other language; the button names that language in itself ("English"). */
export function LangSwitch({ lang }: { lang: Lang }) {
  const router = useRouter();
  const other: Lang = lang === "de" ? "en" : "de";
  return (
    <button
      type="button"
      data-testid="lang-switch"
      lang={other}
      className="rounded border border-slate-300 bg-white px-2 py-1 text-sm hover:bg-slate-100"
      title={translator(lang)("lang.label")}
      onClick={() => {
        document.cookie = `${LANG_COOKIE}=${other}; path=/; max-age=31536000; samesite=lax`;
        router.refresh();
      }}
    >
      {translator(lang)("lang.switch")}
    </button>
  );
}
