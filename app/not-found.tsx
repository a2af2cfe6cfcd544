import Link from "next/link";
import { pageLang } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { LangSwitch } from "@/components/lang-switch";

/** Next's own 404 page speaks English only: this one speaks the page language. */
export default async function NotFound() {
  const lang = await pageLang();
  const t = translator(lang);
  return (
    <main className="mx-auto max-w-md px-6 py-16 text-center">
      <div className="mb-6 flex justify-end"><LangSwitch lang={lang} /></div>
      <h1 className="mb-4 text-xl font-bold" data-testid="not-found">{t("lab.error.title")}</h1>
      <Link className="text-brand underline" href="/">{t("lab.error.home")}</Link>
    </main>
  );
}
