import type { Course } from "@/lib/lab-schema";
import { renderTemplate } from "@/lib/lab-schema";
import type { EnvironmentParams } from "@/lib/machines";
import type { Lang } from "@/lib/api-types";
import { renderMarkdown } from "./markdown";

/** Slides rendered once per language: they're the same for everyone. */
const slideCache = new Map<string, Array<{ title: string; html: string; notesHtml: string }>>();

export function renderedSlides(course: Course, lang: Lang) {
  const key = `${course.id}:${lang}`;
  let slides = slideCache.get(key);
  if (!slides) {
    slides = course.slides[lang].map((s) => ({
      title: s.title,
      html: renderMarkdown(`${s.title ? `## ${s.title}\n\n` : ""}${s.body}`),
      notesHtml: s.notes ? renderMarkdown(s.notes) : "",
    }));
    slideCache.set(key, slides);
  }
  return slides;
}

/** Task texts open with the step's title as a heading; the step list shows that title already. */
export function withoutTitleHeading(markdown: string, title: string): string {
  const m = /^\s*#{1,6}[ \t]+(.+?)[ \t#]*\r?\n/.exec(markdown);
  return m && m[1] === title ? markdown.slice(m[0].length) : markdown;
}

/** The labs' texts for one learner: their own domain, users and passwords filled in. */
export function renderedLabs(course: Course, lang: Lang, params: EnvironmentParams) {
  return course.labs.map((lab) => ({
    id: lab.id,
    title: lab.title[lang],
    introHtml: renderMarkdown(renderTemplate(lab.intro[lang], params)),
    steps: lab.steps.map((step) => ({
      id: step.id,
      title: renderTemplate(step.title[lang], params),
      kind: step.kind,
      taskHtml: renderMarkdown(withoutTitleHeading(renderTemplate(step.task[lang], params), renderTemplate(step.title[lang], params))),
      hints: step.hints[lang].map((h) => renderTemplate(h, params)),
    })),
  }));
}
