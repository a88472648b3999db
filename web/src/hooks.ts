import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "./api/client";
import type { Page } from "./api/types";

export type Loadable<T> =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ready"; value: T };

/** Load once per change of `deps`; `reload` asks again. Late answers of old loads are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setResult({ state: "ready", value }),
      (error: unknown) => current && setResult({ state: "error", message: errorMessage(error) }),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  return [result, reload];
}

/** A cursor-paged list as far as it has been read. */
export interface Pages<T> {
  /** Every item read so far; the first page's loading and error states. */
  items: Loadable<T[]>;
  reload: () => void;
  /** Read the next page; null when there is none. */
  more: (() => void) | null;
  readingMore: boolean;
  /** Why reading the next page failed. */
  moreError: string | null;
}

/** The first page like `useLoad`; `more` appends the next, so no item is out of reach. */
export function usePages<T>(
  load: (cursor: string | null) => Promise<Page<T>>,
  deps: unknown[],
): Pages<T> {
  const [first, reload] = useLoad(() => load(null), deps);
  const [rest, setRest] = useState<Page<T> | null>(null);
  const [reading, setReading] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  useEffect(() => {
    setRest(null);
    setMoreError(null);
  }, [first]);

  if (first.state !== "ready") {
    return { items: first, reload, more: null, readingMore: false, moreError: null };
  }
  const items = [...first.value.items, ...(rest?.items ?? [])];
  const cursor = rest ? rest.next_cursor : first.value.next_cursor;
  const more = () => {
    setReading(true);
    setMoreError(null);
    load(cursor)
      .then(
        (page) =>
          setRest({ items: [...(rest?.items ?? []), ...page.items], next_cursor: page.next_cursor }),
        (error: unknown) => setMoreError(errorMessage(error)),
      )
      .finally(() => setReading(false));
  };
  return {
    items: { state: "ready", value: items },
    reload,
    more: cursor ? more : null,
    readingMore: reading,
    moreError,
  };
}
