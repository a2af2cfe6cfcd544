/**
 * What the lab page's server component hands to the client besides the API's views
 * (lib/api-types.ts): the course content, pre-rendered to HTML for the learner's parameters.
 */
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
