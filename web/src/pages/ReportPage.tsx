import { useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { errorMessage } from "../api/client";
import {
  REPORT_LANGUAGES,
  REPORT_TYPES,
  type Report,
  type ReportLanguage,
  type ReportSummary,
  type ReportType,
} from "../api/types";
import { useApi } from "../auth";
import { RecordingCrumbs } from "../components/Crumbs";
import { Markdown } from "../components/Markdown";
import { ErrorNote, Loading, Show } from "../components/Status";
import { formatDate, label, saveBlob } from "../format";
import { useLoad } from "../hooks";
import { LANGUAGE_NAMES } from "./NewSession";

const POLL_MS = 1500;

/** A recording's reports: the chosen one rendered, and a chooser that asks for a new one. */
export function ReportPage() {
  const { recordingId = "" } = useParams();
  const api = useApi();
  const [list, reloadList] = useLoad(() => api.reports(recordingId), [api, recordingId]);
  const [chosen, setChosen] = useState<string | null>(null);

  useEffect(() => {
    if (chosen === null && list.state === "ready") {
      const ready = list.value.items.find((r) => r.status === "ready");
      if (ready) setChosen(ready.id);
    }
  }, [list, chosen]);

  return (
    <section>
      <RecordingCrumbs recordingId={recordingId} />
      <h1>Report</h1>
      <ReportChooser
        recordingId={recordingId}
        onRequested={(report) => {
          setChosen(report.id);
          reloadList();
        }}
      />
      <div className="report-layout">
        <Show value={list} what="reports" onRetry={reloadList}>
          {(page) => (
            <ReportList reports={page.items} chosen={chosen} onChoose={setChosen} />
          )}
        </Show>
        {chosen ? (
          <ReportView key={chosen} reportId={chosen} onSettled={reloadList} />
        ) : (
          list.state === "ready" && <p className="muted">No report is ready yet.</p>
        )}
      </div>
    </section>
  );
}

export function ReportChooser({
  recordingId,
  onRequested,
}: {
  recordingId: string;
  onRequested: (report: Report) => void;
}) {
  const api = useApi();
  const [type, setType] = useState<ReportType>("fluency_analysis");
  const [language, setLanguage] = useState<ReportLanguage>("en");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onRequested(await api.requestReport(recordingId, type, language));
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card chooser" onSubmit={submit} aria-label="New report">
      <label>
        Report type
        <select value={type} onChange={(e) => setType(e.target.value as ReportType)}>
          {REPORT_TYPES.map((t) => (
            <option key={t} value={t}>
              {label(t)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Language
        <select value={language} onChange={(e) => setLanguage(e.target.value as ReportLanguage)}>
          {REPORT_LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {LANGUAGE_NAMES[l]}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Requesting…" : "Write report"}
      </button>
      {error && <ErrorNote message={error} />}
    </form>
  );
}

function ReportList({
  reports,
  chosen,
  onChoose,
}: {
  reports: ReportSummary[];
  chosen: string | null;
  onChoose: (id: string) => void;
}) {
  if (reports.length === 0) return <p className="muted">No reports yet.</p>;
  return (
    <ul className="report-list" aria-label="Reports">
      {reports.map((r) => (
        <li key={r.id}>
          <button
            type="button"
            className={r.id === chosen ? "link current" : "link"}
            aria-current={r.id === chosen}
            onClick={() => onChoose(r.id)}
          >
            {label(r.type)} · {LANGUAGE_NAMES[r.language] ?? r.language}
          </button>
          <small className="muted">
            {" "}
            {formatDate(r.created_at)} · {r.status}
            {r.automatic ? " · automatic" : ""}
          </small>
        </li>
      ))}
    </ul>
  );
}

/** One report, polled while it is being written. */
function ReportView({ reportId, onSettled }: { reportId: string; onSettled: () => void }) {
  const api = useApi();
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const poll = async () => {
      try {
        const next = await api.report(reportId);
        if (!live) return;
        setReport(next);
        if (next.status === "pending") timer = setTimeout(poll, POLL_MS);
        else onSettled();
      } catch (failure) {
        if (live) setError(errorMessage(failure));
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // onSettled only refreshes the list; a new one must not restart the polling.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, reportId]);

  async function downloadMarkdown() {
    setDownloadError(null);
    try {
      const { blob, filename } = await api.download(
        `/reports/${reportId}?format=md`,
        `report-${reportId}.md`,
      );
      saveBlob(blob, filename);
    } catch (failure) {
      setDownloadError(errorMessage(failure));
    }
  }

  if (error) return <ErrorNote message={error} />;
  if (!report) return <Loading what="the report" />;
  if (report.status === "pending") {
    return (
      <p className="muted" role="status" aria-live="polite">
        Writing the report ({label(report.type)}, {LANGUAGE_NAMES[report.language]})…
      </p>
    );
  }
  if (report.status === "failed") {
    return <ErrorNote message={report.error ?? "The report could not be written."} />;
  }
  return (
    <article className="card report" lang={report.language} aria-label="Report">
      <p className="muted">
        {label(report.type)} · {LANGUAGE_NAMES[report.language]} · from annotation version{" "}
        {report.annotation_version ?? "—"} · {report.generator ?? ""}{" "}
        <button type="button" className="link" onClick={downloadMarkdown}>
          Download .md
        </button>
      </p>
      {downloadError && <ErrorNote message={downloadError} />}
      <Markdown source={report.content_markdown ?? ""} />
    </article>
  );
}
