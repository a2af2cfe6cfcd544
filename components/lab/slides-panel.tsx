"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import type { SlideContent } from "./types";

/**
 * The lecture: one slide at a time with its speaker notes. Arrow keys / PageUp / PageDown
 * move while the panel has focus (never while typing in a terminal). `f` toggles full screen.
 */
export function SlidesPanel({
  lang,
  slides,
  index,
  onIndex,
  showNotesDefault = true,
}: {
  lang: Lang;
  slides: SlideContent[];
  index: number;
  onIndex: (i: number) => void;
  showNotesDefault?: boolean;
}) {
  const t = translator(lang);
  const [showNotes, setShowNotes] = useState(showNotesDefault);
  const root = useRef<HTMLDivElement>(null);
  const slide = slides[Math.min(index, slides.length - 1)];
  const go = useCallback((i: number) => onIndex(Math.max(0, Math.min(slides.length - 1, i))), [onIndex, slides.length]);

  useEffect(() => {
    const el = root.current;
    if (!el) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
      if (["ArrowRight", "PageDown", " "].includes(e.key)) go(index + 1);
      else if (["ArrowLeft", "PageUp"].includes(e.key)) go(index - 1);
      else if (e.key === "Home") go(0);
      else if (e.key === "End") go(slides.length - 1);
      else if (e.key === "f") void toggleFullscreen();
      else return;
      e.preventDefault();
    };
    el.addEventListener("keydown", onKey);
    return () => el.removeEventListener("keydown", onKey);
  });

  async function toggleFullscreen() {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await root.current?.requestFullscreen();
  }

  if (!slide) return null;
  return (
    <div
      ref={root}
      tabIndex={0}
      data-testid="slides"
      role="region"
      aria-roledescription={t("slides.roledescription")}
      aria-label={`${slide.title} (${index + 1} ${t("slides.of")} ${slides.length})`}
      className="flex h-full flex-col bg-white outline-none"
    >
      <div className="flex-1 overflow-auto p-6">
        <article className="prose-lab slide-body" data-testid="slide-body" dangerouslySetInnerHTML={{ __html: slide.html }} />
        {showNotes && slide.notesHtml && (
          <aside className="prose-lab mt-6 border-t border-slate-200 pt-4 text-slate-700" aria-label={t("slides.notes")} data-testid="slide-notes">
            <h3 className="text-sm font-semibold uppercase tracking-wide text-slate-600">{t("slides.notes")}</h3>
            <div dangerouslySetInnerHTML={{ __html: slide.notesHtml }} />
          </aside>
        )}
      </div>
      <nav className="flex items-center gap-2 border-t border-slate-200 bg-slate-50 px-3 py-2 text-sm">
        <button type="button" className="rounded px-2 py-1 hover:bg-slate-200" onClick={() => go(index - 1)} aria-label={t("slides.prev")} disabled={index === 0}>
          ←
        </button>
        <span data-testid="slide-counter">
          {index + 1} {t("slides.of")} {slides.length}
        </span>
        <button type="button" className="rounded px-2 py-1 hover:bg-slate-200" onClick={() => go(index + 1)} aria-label={t("slides.next")} disabled={index >= slides.length - 1}>
          →
        </button>
        <label className="ml-auto flex items-center gap-1">
          <input type="checkbox" data-testid="notes-toggle" checked={showNotes} onChange={(e) => setShowNotes(e.target.checked)} />
          {t("slides.notes")}
        </label>
        <button type="button" className="rounded px-2 py-1 hover:bg-slate-200" onClick={() => void toggleFullscreen()}>
          {t("slides.fullscreen")}
        </button>
      </nav>
    </div>
  );
}
