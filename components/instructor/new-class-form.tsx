"use client";
import { useState } from "react";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "../api-client";
import { useAction } from "../use-action";

export function NewClassForm({ lang, labs }: { lang: Lang; labs: Array<{ id: string; title: string }> }) {
  const t = translator(lang);
  const router = useRouter();
  const [title, setTitle] = useState("");
  const [selected, setSelected] = useState(labs.map((l) => l.id));
  const { error, run } = useAction();
  return (
    <form
      className="space-y-3"
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const cls = await apiClient(lang).createClass({ title, labs: labs.map((l) => l.id).filter((id) => selected.includes(id)) });
          router.push(`/instructor/classes/${cls.id}`);
        }, { keepBusy: true });
      }}
    >
      <label className="block">
        <span className="text-sm font-medium">{t("instructor.classTitle")}</span>
        <input
          data-testid="class-title"
          className="mt-1 block w-full rounded border border-slate-300 px-3 py-2"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          maxLength={120}
          required
        />
      </label>
      <fieldset>
        <legend className="text-sm font-medium">{t("instructor.labs")}</legend>
        {labs.map((l) => (
          <label key={l.id} className="mr-4 inline-flex items-center gap-1 text-sm">
            <input
              type="checkbox"
              checked={selected.includes(l.id)}
              onChange={(e) => setSelected((s) => (e.target.checked ? [...s, l.id] : s.filter((x) => x !== l.id)))}
            />
            {l.title}
          </label>
        ))}
      </fieldset>
      <button type="submit" data-testid="class-create" className="rounded-md bg-brand px-4 py-2 font-semibold text-white">
        {t("instructor.create")}
      </button>
      {error && <p role="alert" className="text-sm text-fail">{error}</p>}
    </form>
  );
}
