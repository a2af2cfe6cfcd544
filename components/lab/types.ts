import type { StepResultView } from "@/lib/api-schema";
import type { EnvironmentParams } from "@/lib/machines";

/** What the lab page's server component hands to the client: content pre-rendered to HTML. */
export interface LabContent {
  labs: Array<{
    id: string;
    title: string;
    introHtml: string;
    steps: Array<{ id: string; title: string; kind: "config" | "action"; taskHtml: string; hints: string[] }>;
  }>;
  slides: SlideContent[];
}

export interface SlideContent {
  title: string;
  html: string;
  notesHtml: string;
}

export interface EnvironmentView {
  id: string;
  status: "creating" | "running" | "stopped" | "error" | "missing";
  lab: string;
  classId: string | null;
  params: EnvironmentParams;
  steps: StepResultView[];
}
