import type { ReactNode } from "react";
import type { Loadable } from "../hooks";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div className="error" role="alert">
      <span>{message}</span>
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          Try again
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
