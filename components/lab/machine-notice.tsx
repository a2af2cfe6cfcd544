import type { NoticeView } from "@/lib/api-types";
import { InlineMarkdown } from "./inline-markdown";

/**
 * What happened to the machines that nobody on the page did (the disk watchdog stopped them, a machine
 * was killed or removed): the server's words, already in the viewer's language (server/maillab/notices.ts).
 */
export function MachineNotice({ notice }: { notice: NoticeView | null }) {
  if (!notice) return null;
  return (
    <p role="alert" data-testid="machine-notice" data-notice={notice.code} className="bg-red-100 px-4 py-2 text-sm text-red-950">
      <InlineMarkdown text={notice.message} />
    </p>
  );
}
