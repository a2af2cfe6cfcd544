"use client";
import { useState } from "react";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "../api-client";
import { useAction } from "../use-action";

export function LoginForm({ lang }: { lang: Lang }) {
  const t = translator(lang);
  const router = useRouter();
  const [password, setPassword] = useState("");
  const { error, run } = useAction();
  return (
    <form
      className="space-y-3"
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          await apiClient(lang).login(password);
          router.refresh();
        });
      }}
    >
      <label className="block">
        <span className="text-sm font-medium">{t("instructor.password")}</span>
        <input
          type="password"
          data-testid="instructor-password"
          className="mt-1 block w-full rounded border border-slate-300 px-3 py-2"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
          required
        />
      </label>
      <button type="submit" data-testid="instructor-login" className="rounded-md bg-brand px-4 py-2 font-semibold text-white">
        {t("instructor.login")}
      </button>
      {error && <p role="alert" className="text-sm text-fail">{error}</p>}
    </form>
  );
}
