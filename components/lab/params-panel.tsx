import type { Lang } from "@/lib/api-types";
import type { EnvironmentParams } from "@/lib/machines";
import { translator } from "@/lib/i18n";

/** The learner's own machines and credentials, in one place on the page (lab texts refer to it). */
export function ParamsPanel({ lang, params }: { lang: Lang; params: EnvironmentParams }) {
  const t = translator(lang);
  const rows: Array<[string, string]> = [
    [t("lab.domain"), params.domain],
    ...params.users.map((u): [string, string] => [`${t("lab.user")} / ${t("lab.password")}`, `${u.name} / ${u.password}`]),
    [t("lab.mailHost"), `mail = ${params.mailHost} (${params.mailIp})`],
    [t("lab.partner"), `partner (${params.partnerIp})`],
    [t("lab.network"), params.subnet],
  ];
  return (
    <section className="mb-4 rounded-md border border-slate-200 bg-white p-3 text-sm" aria-labelledby="params-title">
      <h2 id="params-title" className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-600">{t("lab.params")}</h2>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-0.5" data-testid="params">
        {rows.map(([label, value], i) => (
          <div key={i} className="contents">
            <dt className="font-medium">{label}</dt>
            <dd className="break-all font-mono">{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
