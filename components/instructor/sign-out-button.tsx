"use client";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "../api-client";
import { useAction } from "../use-action";

/** Ends the instructor's session on the server (the cookie stops working everywhere), back to sign-in. */
export function SignOutButton({ lang }: { lang: Lang }) {
  const t = translator(lang);
  const router = useRouter();
  const { busy, error, run } = useAction();
  return (
    <>
      <button
        type="button"
        data-testid="instructor-logout"
        disabled={busy}
        className="rounded border border-slate-300 bg-white px-2 py-1 text-sm hover:bg-slate-100 disabled:opacity-60"
        onClick={() =>
          run(async () => {
            await apiClient(lang).logout();
            router.push("/instructor");
            router.refresh();
          }, { keepBusy: true })
        }
      >
        {t("instructor.logout")}
      </button>
      {error && <span role="alert" className="text-sm text-fail">{error}</span>}
    </>
  );
}
