// What the learner's page and the instructor's views say when something happened to an environment's
// machines that nobody on the page did (server/docker's EnvironmentNotice): the disk watchdog stopped
// them, a machine was killed or ran out of memory, a machine's container was removed. German with "Sie".
import type { Lang, NoticeView } from "@/lib/api-types";
import type { Localized } from "../http-error";
import type { MachineNotice } from "./ports";

const MiB = 1024 * 1024;

function machineName(machine: string): Localized {
  return machine === "probe" ? { de: "Prüfmaschine „maillab-check“", en: "checks machine “maillab-check”" } : { de: `Maschine „${machine}“`, en: `machine “${machine}”` };
}

const SIGNALS: Record<number, { name: string; de: string; en: string }> = {
  9: { name: "KILL", de: "z. B. durch `docker kill`", en: "e.g. by `docker kill`" },
  15: { name: "TERM", de: "z. B. durch `docker stop`", en: "e.g. by `docker stop`" },
};

function exitReason(exitCode: number | null, oom: boolean): Localized {
  if (oom) return { de: "sie hat ihren Arbeitsspeicher aufgebraucht, der Kernel hat sie beendet", en: "it ran out of memory and the kernel killed it" };
  if (exitCode === null) return { de: "ohne Exit-Code", en: "without an exit code" };
  const signal = exitCode > 128 ? SIGNALS[exitCode - 128] : undefined;
  if (signal) return { de: `Exit-Code ${exitCode} = Signal ${signal.name}, ${signal.de}`, en: `exit code ${exitCode} = signal ${signal.name}, ${signal.en}` };
  return { de: `Exit-Code ${exitCode}`, en: `exit code ${exitCode}` };
}

const RESTART: Localized = {
  de: "Sie startet wieder, sobald Sie „Neue Shell starten“ oder „Jetzt prüfen“ klicken.",
  en: "It starts again when you click “Start a new shell” or “Check now”.",
};

function worded(notice: MachineNotice): { message: Localized; summary: Localized } {
  switch (notice.kind) {
    case "disk-limit": {
      const used = Math.round(notice.usedBytes / MiB);
      const limit = Math.round(notice.limitBytes / MiB);
      return {
        message: {
          de:
            `Ihre Maschinen haben zusammen ${used} MiB auf die Festplatte geschrieben, mehr als die erlaubten ${limit} MiB, und wurden deshalb angehalten. ` +
            "Die Maschinen starten wieder, sobald Sie „Neue Shell starten“ oder „Jetzt prüfen“ klicken: Löschen Sie dann innerhalb von 5 Minuten die großen Dateien " +
            "(finden Sie sie mit `du -xh / 2>/dev/null | sort -h | tail`), sonst werden die Maschinen erneut angehalten – oder beginnen Sie mit „Maschinen zurücksetzen“ neu.",
          en:
            `Your machines wrote ${used} MiB to disk together, more than the ${limit} MiB allowed, and were stopped. ` +
            "They start again when you click “Start a new shell” or “Check now”: then delete the large files within 5 minutes " +
            "(find them with `du -xh / 2>/dev/null | sort -h | tail`), or they will be stopped again — or start over with “Reset machines”.",
        },
        summary: { de: `Speicherlimit überschritten (${used} von ${limit} MiB): angehalten`, en: `over the disk limit (${used} of ${limit} MiB): stopped` },
      };
    }
    case "machine-exited": {
      const name = machineName(notice.machine);
      const why = exitReason(notice.exitCode, notice.oom);
      const verb = notice.oom ? { de: "ist abgestürzt", en: "crashed" } : { de: "wurde außerhalb von maillab beendet", en: "was stopped outside maillab" };
      return {
        message: { de: `Die ${name.de} ${verb.de} (${why.de}). ${RESTART.de}`, en: `The ${name.en} ${verb.en} (${why.en}). ${RESTART.en}` },
        summary: {
          de: `${notice.machine} beendet (${notice.oom ? "kein Arbeitsspeicher" : `Exit ${notice.exitCode ?? "?"}`})`,
          en: `${notice.machine} stopped (${notice.oom ? "out of memory" : `exit ${notice.exitCode ?? "?"}`})`,
        },
      };
    }
    case "machine-removed": {
      const name = machineName(notice.machine);
      return {
        message: {
          de: `Die ${name.de} wurde außerhalb von maillab entfernt (z. B. mit \`docker rm\` oder von einer anderen maillab-Instanz am selben Docker). Setzen Sie die Umgebung mit „Maschinen zurücksetzen“ zurück, um neue Maschinen zu bekommen.`,
          en: `The ${name.en} was removed outside maillab (e.g. by \`docker rm\` or by another maillab instance on the same Docker engine). Click “Reset machines” to get fresh ones.`,
        },
        summary: { de: `${notice.machine} entfernt: zurücksetzen`, en: `${notice.machine} removed: reset` },
      };
    }
    case "node-drained":
    case "node-lost": {
      const name = machineName(notice.machine);
      const what =
        notice.kind === "node-drained"
          ? { de: `Der Server „${notice.node}“, auf dem sie lief, wurde außer Betrieb genommen (Wartung).`, en: `The server “${notice.node}” it ran on was taken out of service (maintenance).` }
          : { de: `Der Server „${notice.node}“, auf dem sie lief, ist nicht mehr erreichbar.`, en: `The server “${notice.node}” it ran on can no longer be reached.` };
      return {
        message: {
          de: `Die ${name.de} ist weg: ${what.de} Klicken Sie auf „Maschinen zurücksetzen“: Sie bekommen neue Maschinen auf einem anderen Server, mit derselben Domain und denselben Passwörtern; Ihre bisherigen Änderungen sind dabei verloren.`,
          en: `The ${name.en} is gone: ${what.en} Click “Reset machines” to get fresh machines on another server, with the same domain and passwords; your changes so far are lost with it.`,
        },
        summary:
          notice.kind === "node-drained"
            ? { de: `Server ${notice.node} in Wartung: zurücksetzen`, en: `server ${notice.node} drained: reset` }
            : { de: `Server ${notice.node} weg: zurücksetzen`, en: `server ${notice.node} lost: reset` },
      };
    }
  }
}

export function noticeView(notice: MachineNotice | undefined, lang: Lang): NoticeView | null {
  if (!notice) return null;
  const { message, summary } = worded(notice);
  return { code: notice.kind, at: notice.at, message: message[lang], summary: summary[lang] };
}
