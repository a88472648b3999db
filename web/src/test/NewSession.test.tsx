import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, fakeApi, json, renderAt } from "./fakeApi";

const CLIENT = {
  id: "c1",
  display_name: "Ana Souza",
  external_ref: null,
  date_of_birth: null,
  notes: null,
  created_by: "u1",
  created_at: "2026-01-10T10:00:00Z",
  updated_at: "2026-01-10T10:00:00Z",
};
const LATER = { ...CLIENT, id: "c51", display_name: "Bruno Lima" };

/** The API's status stream: each event in its own chunk, as a proxy may deliver them. */
function eventStream(...events: object[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(": connected\r\n\r\n"));
      for (const event of events) {
        controller.enqueue(encoder.encode(`event: status\ndata: ${JSON.stringify(event)}\n\n`));
      }
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

function routes(extra = {}) {
  return {
    "GET /clients?limit=50": () => json({ items: [CLIENT], next_cursor: "next-1" }),
    "GET /clients?cursor=next-1&limit=50": () => json({ items: [LATER], next_cursor: null }),
    ...extra,
  };
}

describe("a new session", () => {
  it("uploads a file for a client on a later page and follows its progress to processed", async () => {
    const { api, calls } = fakeApi(
      routes({
        "POST /audio_recordings": () => json({ recording_id: "r9", status: "pending" }, 202),
        "GET /audio_recordings/r9/events": () =>
          eventStream(
            { status: "processing", progress: { chunks_done: 1, chunks_total: 2 } },
            { status: "processed", progress: { chunks_done: 2, chunks_total: 2 } },
          ),
      }),
    );
    renderAt("/app/sessions/new?client=c51", api);
    expect(await screen.findByLabelText("Client")).toHaveValue("c51");
    await userEvent.click(screen.getByLabelText("Upload a file"));
    const file = new File([new Uint8Array(16)], "session.wav", { type: "audio/wav" });
    await userEvent.upload(screen.getByLabelText("Audio file"), file);
    await userEvent.click(screen.getByRole("button", { name: "Upload and analyse" }));

    expect(await screen.findByRole("heading", { name: "Processing the session" })).toBeVisible();
    expect(await screen.findByRole("link", { name: "Open the recording" })).toHaveAttribute(
      "href",
      "/app/recordings/r9",
    );
    expect(within(screen.getByText(/Status:/)).getByText("Processed")).toBeInTheDocument();
    expect(screen.getByText("2 of 2 parts")).toBeInTheDocument();
    const form = calls.find((c) => c.path === "/audio_recordings")?.body as FormData;
    expect(form.get("client_id")).toBe("c51");
    expect((form.get("file") as File).name).toBe("session.wav");
    expect(form.get("channel")).toBeNull(); // both channels: the API's default
  });

  it("sends the channel a file's speaker is on when one is chosen", async () => {
    const { api, calls } = fakeApi(
      routes({
        "POST /audio_recordings": () => json({ recording_id: "r3", status: "pending" }, 202),
        "GET /audio_recordings/r3/events": () =>
          eventStream({ status: "processed", progress: { chunks_done: 1, chunks_total: 1 } }),
      }),
    );
    renderAt("/app/sessions/new?client=c1", api);
    expect(await screen.findByLabelText("Client")).toHaveValue("c1");
    expect(screen.queryByLabelText("Speech on")).toBeNull(); // recording here: the microphone's
    await userEvent.click(screen.getByLabelText("Upload a file"));
    await userEvent.upload(screen.getByLabelText("Audio file"), new File(["x"], "two_mics.wav", { type: "audio/wav" }));
    await userEvent.selectOptions(screen.getByLabelText("Speech on"), "Right channel only");
    await userEvent.click(screen.getByRole("button", { name: "Upload and analyse" }));
    expect(await screen.findByRole("heading", { name: "Processing the session" })).toBeVisible();
    const form = calls.find((c) => c.path === "/audio_recordings")?.body as FormData;
    expect(form.get("channel")).toBe("right");
  });

  it("shows the API's message when the upload is refused", async () => {
    const { api } = fakeApi(
      routes({
        "POST /audio_recordings": () =>
          apiError(415, "unsupported_media_type", "the file is not audio the platform can read"),
      }),
    );
    renderAt("/app/sessions/new?client=c1", api);
    expect(await screen.findByLabelText("Client")).toHaveValue("c1");
    await userEvent.click(screen.getByLabelText("Upload a file"));
    await userEvent.upload(screen.getByLabelText("Audio file"), new File(["x"], "notes.wav", { type: "audio/wav" }));
    await userEvent.click(screen.getByRole("button", { name: "Upload and analyse" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "the file is not audio the platform can read",
    );
    expect(screen.getByRole("heading", { name: "New session" })).toBeVisible();
  });

  it("links to the session the same audio already is when the API refuses a duplicate", async () => {
    const { api } = fakeApi(
      routes({
        "POST /audio_recordings": () =>
          apiError(409, "duplicate_recording", "these bytes are already recording r7, whose client_id is c2", {
            Location: "/audio_recordings/r7",
          }),
      }),
    );
    renderAt("/app/sessions/new?client=c1", api);
    expect(await screen.findByLabelText("Client")).toHaveValue("c1");
    await userEvent.click(screen.getByLabelText("Upload a file"));
    await userEvent.upload(screen.getByLabelText("Audio file"), new File(["x"], "again.wav", { type: "audio/wav" }));
    await userEvent.click(screen.getByRole("button", { name: "Upload and analyse" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("already a session");
    expect(screen.getByRole("link", { name: "Open that session" })).toHaveAttribute(
      "href",
      "/app/recordings/r7",
    );
  });
});
