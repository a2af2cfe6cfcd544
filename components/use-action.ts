"use client";
import { useCallback, useState } from "react";

/** Busy flag + error message around an async user action (a form submit, a button). */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<void>, { keepBusy = false } = {}) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      // Navigating away: stay busy so the button can't be pressed twice meanwhile.
      if (!keepBusy) setBusy(false);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
