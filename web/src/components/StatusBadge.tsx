import type { RecordingStatus } from "../api/types";
import { label } from "../format";

export function StatusBadge({ status }: { status: RecordingStatus }) {
  return <span className={`badge status-${status}`}>{label(status)}</span>;
}
