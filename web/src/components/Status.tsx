import type { ReactNode } from "react";
import type { Loadable, Pages } from "../hooks";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** An error and, with `onRetry`, a button named for what it does (`retryLabel`). */
export function ErrorNote({
  message,
  onRetry,
  retryLabel = "Try again",
}: {
  message: string;
  onRetry?: () => void;
  retryLabel?: string;
}) {
  return (
    <div className="error" role="alert">
      <span>{message}</span>
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          {retryLabel}
        </button>
      )}
    </div>
  );
}

/** Loading and error states of one loadable, or its content. */
export function Show<T>({
  value,
  what,
  onRetry,
  children,
}: {
  value: Loadable<T>;
  what: string;
  onRetry?: () => void;
  children: (value: T) => ReactNode;
}) {
  if (value.state === "loading") return <Loading what={what} />;
  if (value.state === "error") return <ErrorNote message={value.message} onRetry={onRetry} />;
  return <>{children(value.value)}</>;
}

/** The button that reads a paged list's next page, and why the last read failed. */
export function MoreButton({ pages, what }: { pages: Pages<unknown>; what: string }) {
  return (
    <>
      {pages.moreError && <ErrorNote message={pages.moreError} onRetry={pages.more ?? undefined} />}
      {pages.more && (
        <p>
          <button type="button" onClick={pages.more} disabled={pages.readingMore}>
            {pages.readingMore ? `Loading more ${what}…` : `Show more ${what}`}
          </button>
        </p>
      )}
    </>
  );
}
