"use client";
import { useState } from "react";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-schema";
import { translator } from "@/lib/i18n";
import { api } from "../api-client";

export function StartButton({ lang, lab }: { lang: Lang; lab?: string }) {
  const t = translator(lang);
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div>
      <button
        type="button"
        data-testid="start-self-paced"
        disabled={busy}
        className="rounded-md bg-brand px-4 py-2 font-semibold text-white hover:bg-brand-dark disabled:opacity-60"
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const env = await api<{ id: string }>("POST", "/api/session", lab ? { lab } : {});
            router.push(`/lab/${env.id}`);
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
            setBusy(false);
          }
        }}
      >
        {busy ? t("home.starting") : t("home.start")}
      </button>
      {error && <p role="alert" className="mt-2 text-sm text-fail">{error}</p>}
    </div>
  );
}
