import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, fakeApi, json, renderAt, spyOnDownloads } from "./fakeApi";
import { CLIENT, RECORDING } from "./recording";

const AUTO = {
  id: "rep1",
  recording_id: "r1",
  type: "fluency_analysis",
  language: "en",
  status: "ready",
  automatic: true,
  annotation_version: 1,
  generator: "template",
  requested_by: null,
  error: null,
  created_at: "2026-02-01T10:00:10Z",
};

/** The recording and its client, for the breadcrumb. */
const RECORDING_ROUTES = {
  "GET /audio_recordings/r1": () => json(RECORDING),
  "GET /clients/c1": () => json(CLIENT),
};

const ONE_READY_REPORT = {
  "GET /audio_recordings/r1/reports?limit=50": () => json({ items: [AUTO], next_cursor: null }),
  "GET /reports/rep1": () =>
    json({ ...AUTO, metrics: {}, content_markdown: "# Fluency report\n\nAll fine." }),
};

describe("breadcrumb", () => {
  it("names the client and the session the report is about", async () => {
    const { api } = fakeApi({ ...RECORDING_ROUTES, ...ONE_READY_REPORT });
    renderAt("/app/recordings/r1/report", api);
    const client = await screen.findByRole("link", { name: "Ana Souza" });
    expect(client).toHaveAttribute("href", "/app/clients/c1");
    const session = screen.getByRole("link", { name: /^Session of / });
    expect(session).toHaveAttribute("href", "/app/recordings/r1");
  });

  it("starts at the session for a recording of no client", async () => {
    const { api } = fakeApi({
      ...ONE_READY_REPORT,
      "GET /audio_recordings/r1": () => json({ ...RECORDING, client_id: null }),
    });
    renderAt("/app/recordings/r1/report", api);
    const session = await screen.findByRole("link", { name: /^Session of / });
    const crumbs = session.closest("p") as HTMLElement;
    expect(within(crumbs).getAllByRole("link")).toEqual([session]);
  });

  it("still links back to the recording when it cannot be loaded", async () => {
    const { api } = fakeApi({
      ...ONE_READY_REPORT,
      "GET /audio_recordings/r1": () => apiError(404, "not_found", "recording not found"),
    });
    renderAt("/app/recordings/r1/report", api);
    expect(await screen.findByRole("heading", { name: "Fluency report" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Recording" })).toHaveAttribute(
      "href",
      "/app/recordings/r1",
    );
  });
});

describe("report chooser", () => {
  it("requests a report in the chosen type and language and shows it when ready", async () => {
    let polls = 0;
    const requested = { ...AUTO, id: "rep2", type: "comprehensive", language: "pt", automatic: false };
    const { api, calls } = fakeApi({
      ...RECORDING_ROUTES,
      "GET /audio_recordings/r1/reports?limit=50": () =>
        json({ items: polls ? [requested, AUTO] : [AUTO], next_cursor: null }),
      "GET /reports/rep1": () =>
        json({ ...AUTO, metrics: {}, content_markdown: "# Fluency report\n\nAll fine." }),
      "POST /audio_recordings/r1/reports": () =>
        json({ ...requested, status: "pending", metrics: null, content_markdown: null }, 202),
      "GET /reports/rep2": () => {
        polls += 1;
        return polls < 2
          ? json({ ...requested, status: "pending", metrics: null, content_markdown: null })
          : json({
              ...requested,
              metrics: {},
              content_markdown: "# Relatório de fluência\n\n<script>alert(1)</script>Bom.",
            });
      },
    });
    renderAt("/app/recordings/r1/report", api);
    expect(await screen.findByRole("heading", { name: "Fluency report" })).toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText("Report type"), "comprehensive");
    await userEvent.selectOptions(screen.getByLabelText("Language"), "pt");
    await userEvent.click(screen.getByRole("button", { name: "Write report" }));
    expect(await screen.findByText(/Writing the report/)).toBeInTheDocument();
    const report = await screen.findByRole("article", { name: "Report" }, { timeout: 4000 });
    expect(within(report).getByRole("heading", { name: "Relatório de fluência" })).toBeInTheDocument();
    expect(report).toHaveAttribute("lang", "pt");
    expect(report.querySelector("script")).toBeNull();
    expect(calls.find((c) => c.method === "POST" && c.path.endsWith("/reports"))?.body).toEqual({
      type: "comprehensive",
      language: "pt",
    });
  });
});

describe("report download", () => {
  it("saves the Markdown, and keeps the report on screen when the download fails", async () => {
    const { saved, restore } = spyOnDownloads();
    let refuse = false;
    const { api } = fakeApi({
      ...RECORDING_ROUTES,
      "GET /audio_recordings/r1/reports?limit=50": () => json({ items: [AUTO], next_cursor: null }),
      "GET /reports/rep1": () =>
        json({ ...AUTO, metrics: {}, content_markdown: "# Fluency report\n\nAll fine." }),
      "GET /reports/rep1?format=md": () =>
        refuse
          ? apiError(503, "unavailable", "the database is not reachable")
          : new Response("# Fluency report\n", {
              headers: { "Content-Disposition": 'attachment; filename="report-rep1.md"' },
            }),
    });
    renderAt("/app/recordings/r1/report", api);
    await userEvent.click(await screen.findByRole("button", { name: "Download .md" }));
    await waitFor(() => expect(saved).toEqual(["report-rep1.md"]));
    refuse = true;
    await userEvent.click(screen.getByRole("button", { name: "Download .md" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the database is not reachable");
    expect(screen.getByRole("heading", { name: "Fluency report" })).toBeInTheDocument();
    restore();
  });
});
