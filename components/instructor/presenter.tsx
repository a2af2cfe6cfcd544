"use client";
import { useState } from "react";
import type { Lang } from "@/lib/api-schema";
import { translator } from "@/lib/i18n";
import { api } from "../api-client";
import { SlidesPanel } from "../lab/slides-panel";
import type { SlideContent } from "../lab/types";

/** Presenter mode: the instructor's slide is pushed to learners who follow along. */
export function Presenter({ lang, classId, slides, initialSlide, initialFollow }: {
  lang: Lang;
  classId: string;
  slides: SlideContent[];
  initialSlide: number;
  initialFollow: boolean;
}) {
  const t = translator(lang);
  const [index, setIndex] = useState(initialSlide);
  const [follow, setFollow] = useState(initialFollow);
  return (
    <div className="flex h-screen flex-col">
      <div className="flex items-center gap-3 border-b border-slate-200 bg-white px-4 py-2 text-sm">
        <a className="text-brand underline" href={`/instructor/classes/${classId}`}>{t("dash.back")}</a>
        <label className="ml-auto flex items-center gap-1">
          <input
            type="checkbox"
            data-testid="follow-toggle"
            checked={follow}
            onChange={(e) => {
              setFollow(e.target.checked);
              void api("POST", `/api/classes/${classId}/presenter`, { follow: e.target.checked, slide: index });
            }}
          />
          {t("dash.follow")}
        </label>
      </div>
      <div className="min-h-0 flex-1">
        <SlidesPanel
          lang={lang}
          slides={slides}
          index={index}
          onIndex={(i) => {
            setIndex(i);
            void api("POST", `/api/classes/${classId}/presenter`, { slide: i });
          }}
        />
      </div>
    </div>
  );
}
