"use client";
import { useState } from "react";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "../api-client";
import { StartProgress } from "../start-progress";
import { useAction } from "../use-action";

export function JoinForm({ lang, code: initialCode = "" }: { lang: Lang; code?: string }) {
  const t = translator(lang);
  const router = useRouter();
  const [code, setCode] = useState(initialCode);
  const [name, setName] = useState("");
  const { busy, error, run } = useAction();
  return (
    <form
      className="space-y-3"
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const env = await apiClient(lang).join({ code, name });
          router.push(`/lab/${env.id}`);
        }, { keepBusy: true });
      }}
    >
      <label className="block">
        <span className="text-sm font-medium">{t("home.join.code")}</span>
        <input
          data-testid="join-code"
          className="mt-1 block w-full rounded border border-slate-300 px-3 py-2 font-mono uppercase tracking-widest"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          maxLength={8}
          required
          autoComplete="off"
        />
      </label>
      <label className="block">
        <span className="text-sm font-medium">{t("home.join.name")}</span>
        <input
          data-testid="join-name"
          className="mt-1 block w-full rounded border border-slate-300 px-3 py-2"
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={40}
          required
        />
      </label>
      <button
        type="submit"
        data-testid="join-submit"
        disabled={busy}
        className="rounded-md bg-slate-800 px-4 py-2 font-semibold text-white hover:bg-slate-700 disabled:opacity-60"
      >
        {busy ? t("home.starting") : t("home.join.submit")}
      </button>
      <StartProgress lang={lang} active={busy} />
      {error && <p role="alert" data-testid="join-error" className="text-sm text-fail">{error}</p>}
    </form>
  );
}
