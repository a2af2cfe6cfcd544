"use client";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "../api-client";
import { StartProgress } from "../start-progress";
import { useAction } from "../use-action";

export function StartButton({ lang, lab }: { lang: Lang; lab?: string }) {
  const t = translator(lang);
  const router = useRouter();
  const { busy, error, run } = useAction();
  return (
    <div>
      <button
        type="button"
        data-testid="start-self-paced"
        disabled={busy}
        className="rounded-md bg-brand px-4 py-2 font-semibold text-white hover:bg-brand-dark disabled:opacity-60"
        onClick={() =>
          run(async () => {
            const env = await apiClient(lang).startSelfPaced(lab ? { lab } : {});
            router.push(`/lab/${env.id}`);
          }, { keepBusy: true })
        }
      >
        {busy ? t("home.starting") : t("home.start")}
      </button>
      <StartProgress lang={lang} active={busy} />
      {error && <p role="alert" className="mt-2 text-sm text-fail">{error}</p>}
    </div>
  );
}
