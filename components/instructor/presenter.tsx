"use client";
import { useState } from "react";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "../api-client";
import { LangSwitch } from "../lang-switch";
import { SlidesPanel } from "../lab/slides-panel";
import type { SlideContent } from "../lab/types";

/**
 * Presenter mode, the view on the projector: the instructor's slide is pushed to learners who
 * follow along. Speaker notes start hidden (the room sees this screen).
 */
export function Presenter({ lang, classId, slides, initialSlide, initialFollow }: {
  lang: Lang;
  classId: string;
  slides: SlideContent[];
  initialSlide: number;
  initialFollow: boolean;
}) {
  const t = translator(lang);
  const api = apiClient(lang);
  const [index, setIndex] = useState(initialSlide);
  const [follow, setFollow] = useState(initialFollow);
  const [error, setError] = useState<string | null>(null);
  const send = (change: { slide?: number; follow?: boolean }) => {
    setError(null);
    api.presenter(classId, change).catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  return (
    <div className="flex h-screen flex-col">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 bg-white px-4 py-2 text-sm">
        <a className="text-brand underline" href={`/instructor/classes/${classId}`}>{t("dash.back")}</a>
        {error && <span role="alert" className="text-fail">{error}</span>}
        <label className="ml-auto flex items-center gap-1">
          <input
            type="checkbox"
            data-testid="follow-toggle"
            checked={follow}
            onChange={(e) => {
              setFollow(e.target.checked);
              send({ follow: e.target.checked, slide: index });
            }}
          />
          {t("dash.follow")}
        </label>
        <LangSwitch lang={lang} />
      </div>
      <div className="min-h-0 flex-1">
        <SlidesPanel
          lang={lang}
          slides={slides}
          index={index}
          showNotesDefault={false}
          onIndex={(i) => {
            setIndex(i);
            send({ slide: i });
          }}
        />
      </div>
    </div>
  );
}
