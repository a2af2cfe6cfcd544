/**
 * Terminal preferences remembered in the browser (localStorage), shared by every
 * terminal on the page and across tabs: today the screen-reader mode.
 */
const SCREEN_READER_KEY = "maillab.terminal.screenReader";

const listeners = new Set<() => void>();
/** The choice made on this page, for when storage is blocked (privacy mode): it holds until reload. */
let onThisPage = false;

/** For `useSyncExternalStore`'s snapshot. */
export function getScreenReaderMode(): boolean {
  try {
    const stored = window.localStorage.getItem(SCREEN_READER_KEY);
    return stored === null ? onThisPage : stored === "1";
  } catch {
    return onThisPage;
  }
}

export function setScreenReaderMode(on: boolean): void {
  onThisPage = on;
  try {
    window.localStorage.setItem(SCREEN_READER_KEY, on ? "1" : "0");
  } catch {
    // not remembered across reloads, but switched for this page
  }
  for (const l of listeners) l();
}

/** For `useSyncExternalStore`: changes on this page and in other tabs (the `storage` event). */
export function subscribeScreenReaderMode(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (ev: StorageEvent) => {
    if (ev.key === SCREEN_READER_KEY) listener();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}
