import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Segment } from "../api/types";
import { apiError, audio, fakeApi, json, renderAt, spyOnDownloads } from "./fakeApi";
import { ANNOTATION, CLIENT, RECORDING } from "./recording";

function routes(put: () => Response = () => json({}), extra = {}) {
  return {
    "GET /audio_recordings/r1": () => json(RECORDING),
    "GET /audio_recordings/r1/audio": () => audio(),
    "GET /clients/c1": () => json(CLIENT),
    "GET /audio_recordings/r1/annotation": () => json(ANNOTATION, 200, { ETag: '"r1-v1"' }),
    "PUT /audio_recordings/r1/annotation": put,
    ...extra,
  };
}

function savedVersion2() {
  return json(
    { ...ANNOTATION, version: 2, reviewed_at: "2026-02-01T11:00:00Z" },
    200,
    { ETag: '"r1-v2"' },
  );
}

describe("the page", () => {
  it("names the client in the breadcrumb", async () => {
    const { api } = fakeApi(routes());
    renderAt("/app/recordings/r1", api);
    const crumb = await screen.findByRole("link", { name: "Ana Souza" });
    expect(crumb).toHaveAttribute("href", "/app/clients/c1");
    expect(screen.queryByRole("link", { name: "Client" })).not.toBeInTheDocument();
    expect(screen.queryByText(/channel only/)).not.toBeInTheDocument();
  });

  it("says which channel was measured when it was one of two", async () => {
    const { api } = fakeApi(
      routes(undefined, { "GET /audio_recordings/r1": () => json({ ...RECORDING, channel: "left" }) }),
    );
    renderAt("/app/recordings/r1", api);
    expect(await screen.findByText(/· left channel only/)).toBeInTheDocument();
    expect(screen.queryByRole("note", { name: "Two voices on two channels" })).toBeNull();
  });

  it("says when both channels, mixed, carried different sounds", async () => {
    const transcript = { text: "", language: "en", segments: [], coverage: { channels_apart: true } };
    const { api } = fakeApi(
      routes(undefined, { "GET /audio_recordings/r1": () => json({ ...RECORDING, transcript }) }),
    );
    renderAt("/app/recordings/r1", api);
    const note = await screen.findByRole("note", { name: "Two voices on two channels" });
    expect(note).toHaveTextContent("upload the file again and choose that speaker's channel");
  });
});

describe("events in the transcript", () => {
  it("highlights words by event type and hides a type unchecked in the legend", async () => {
    const { api } = fakeApi(routes());
    renderAt("/app/recordings/r1", api);
    const transcript = await screen.findByLabelText("Transcript");
    const um = within(transcript).getByRole("button", { name: "um" });
    expect(um).toHaveClass("event", "ev-interjection");
    const [firstI] = within(transcript).getAllByRole("button", { name: "I" });
    expect(firstI).toHaveClass("ev-repetition", "to-review");
    expect(within(transcript).getByRole("button", { name: "want" })).not.toHaveClass("event");

    const legend = screen.getByRole("group", { name: "Disfluency types" });
    expect(within(legend).getByLabelText(/Interjection/)).toBeChecked();
    expect(legend).toHaveTextContent("Interjection (1)");
    await userEvent.click(within(legend).getByLabelText(/Interjection/));
    expect(um).not.toHaveClass("event");
    expect(firstI).toHaveClass("ev-repetition");
    expect(screen.getByText(/1 event to review/)).toBeInTheDocument();
  });
});

/** The page for an annotation whose metrics have these fields besides the usual ones. */
function showingMetrics(fields: Record<string, unknown>) {
  const metrics = { ...ANNOTATION.metrics, ...fields };
  const annotation = () => json({ ...ANNOTATION, metrics }, 200, { ETag: '"r1-v1"' });
  const { api } = fakeApi(routes(undefined, { "GET /audio_recordings/r1/annotation": annotation }));
  renderAt("/app/recordings/r1", api);
}

describe("voiced audio without words", () => {
  /** The page for an annotation whose metrics list `stretches` without words. */
  function showing(stretches: [number, number][], seconds: number, notice: boolean) {
    showingMetrics({
      untranscribed: stretches,
      untranscribed_s: seconds,
      untranscribed_notice: notice,
    });
  }

  it("is noticed with each stretch playable when the API says it matters", async () => {
    showing([[1.5, 3.5]], 2, true);
    const note = await screen.findByRole("note", { name: "Not transcribed" });
    expect(note).toHaveTextContent("2.0 s of audio that sounds like speech gave no words");
    const player = (await screen.findByLabelText("Recording audio")) as HTMLAudioElement;
    await userEvent.click(
      within(note).getByRole("button", { name: "Play the audio without words at 0:01.5" }),
    );
    expect(player.currentTime).toBeCloseTo(1.5);
  });

  it("is not noticed when it is a small share of the speech", async () => {
    showing([[1.5, 2.6]], 1.1, false);
    await screen.findByLabelText("Transcript");
    expect(screen.queryByRole("note", { name: "Not transcribed" })).not.toBeInTheDocument();
  });
});

describe("words the model guessed at", () => {
  function showing(stretches: [number, number][], seconds: number) {
    showingMetrics({ unclear: stretches, unclear_s: seconds });
  }

  it("are noticed with each stretch playable", async () => {
    showing([[2.1, 4.4]], 2.3);
    const note = await screen.findByRole("note", { name: "Words the model guessed at" });
    expect(note).toHaveTextContent("For 2.3 s the model was unsure of word after word");
    expect(note).toHaveTextContent("listed to review, not counted");
    const player = (await screen.findByLabelText("Recording audio")) as HTMLAudioElement;
    await userEvent.click(
      within(note).getByRole("button", { name: "Play the words the model guessed at 0:02.1" }),
    );
    expect(player.currentTime).toBeCloseTo(2.1);
  });

  it("are not noticed when there are none", async () => {
    showing([], 0);
    await screen.findByLabelText("Transcript");
    expect(
      screen.queryByRole("note", { name: "Words the model guessed at" }),
    ).not.toBeInTheDocument();
  });
});

describe("the audio player", () => {
  it("plays the audio fetched with the token, from an object URL revoked on leaving", async () => {
    const { api, calls } = fakeApi(routes());
    const { unmount } = renderAt("/app/recordings/r1", api);
    const player = (await screen.findByLabelText("Recording audio")) as HTMLAudioElement;
    const url = player.getAttribute("src");
    expect(url).toMatch(/^blob:/);
    const fetched = calls.find((c) => c.path === "/audio_recordings/r1/audio");
    expect(fetched?.headers.Authorization).toBe("Bearer token-1");
    unmount();
    expect(URL.revokeObjectURL).toHaveBeenCalledWith(url);
  });

  it("seeks to a clicked word, by mouse or keyboard, and marks the word being played", async () => {
    const { api } = fakeApi(routes());
    renderAt("/app/recordings/r1", api);
    const player = (await screen.findByLabelText("Recording audio")) as HTMLAudioElement;
    const transcript = await screen.findByLabelText("Transcript");
    const want = within(transcript).getByRole("button", { name: "want" });
    await userEvent.click(want);
    expect(player.currentTime).toBeCloseTo(1.1);
    expect(want).toHaveClass("playing");
    expect(want).toHaveAttribute("aria-current", "time");

    const um = within(transcript).getByRole("button", { name: "um" });
    um.focus();
    await userEvent.keyboard("{Enter}");
    expect(player.currentTime).toBeCloseTo(0);
    expect(um).toHaveClass("playing");
    expect(want).not.toHaveClass("playing");

    // As the audio plays, the highlight follows it.
    player.currentTime = 0.9;
    fireEvent.timeUpdate(player);
    const [, secondI] = within(transcript).getAllByRole("button", { name: "I" });
    expect(secondI).toHaveClass("playing");
    expect(um).not.toHaveClass("playing");
  });

  it("shows the API's message when the audio cannot be loaded", async () => {
    const { api } = fakeApi(
      routes(undefined, {
        "GET /audio_recordings/r1/audio": () =>
          apiError(410, "audio_deleted", "The audio of this recording was deleted."),
      }),
    );
    renderAt("/app/recordings/r1", api);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The audio of this recording was deleted.",
    );
    expect(await screen.findByLabelText("Transcript")).toBeInTheDocument();
  });

  it("says the audio is gone after retention, without asking for it", async () => {
    const { api, calls } = fakeApi(
      routes(undefined, {
        "GET /audio_recordings/r1": () =>
          json({ ...RECORDING, audio_deleted_at: "2026-03-01T10:00:00Z" }),
      }),
    );
    renderAt("/app/recordings/r1", api);
    expect(await screen.findByText(/retention period/)).toBeInTheDocument();
    await screen.findByLabelText("Transcript");
    expect(calls.some((c) => c.path.endsWith("/audio"))).toBe(false);
  });
});

describe("downloads", () => {
  it("saves the transcript in the chosen format under the API's file name", async () => {
    const { saved, restore } = spyOnDownloads();
    const { api, calls } = fakeApi(
      routes(undefined, {
        "GET /audio_recordings/r1/transcript?format=srt": () =>
          new Response("1\n00:00:00,000 --> 00:00:01,000\nSo um\n", {
            headers: { "Content-Disposition": 'attachment; filename="session-r1.srt"' },
          }),
        "GET /audio_recordings/r1/transcript?format=vtt": () =>
          apiError(404, "not_found", "This recording has no transcript yet."),
      }),
    );
    renderAt("/app/recordings/r1", api);
    await userEvent.click(
      await screen.findByRole("button", { name: "Download the transcript as .srt" }),
    );
    await waitFor(() => expect(saved).toEqual(["session-r1.srt"]));
    const download = calls.find((c) => c.path.includes("format=srt"));
    expect(download?.headers.Authorization).toBe("Bearer token-1");
    await userEvent.click(screen.getByRole("button", { name: "Download the transcript as .vtt" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "This recording has no transcript yet.",
    );
    restore();
  });
});

describe("review", () => {
  it("saves with If-Match and shows the recomputed metrics", async () => {
    const { api, calls } = fakeApi(
      routes(() =>
        json(
          {
            ...ANNOTATION,
            version: 2,
            events: [ANNOTATION.events[1]],
            metrics: { ...ANNOTATION.metrics, percent_syllables_stuttered: 0 },
            reviewed_at: "2026-02-01T11:00:00Z",
          },
          200,
          { ETag: '"r1-v2"' },
        ),
      ),
    );
    renderAt("/app/recordings/r1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Review" }));
    await userEvent.click(screen.getByRole("button", { name: "Remove event 1, interjection" }));
    await userEvent.click(screen.getByRole("button", { name: "Save review" }));
    expect(await screen.findByText(/Review saved as version 2/)).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.headers["If-Match"]).toBe('"r1-v1"');
    expect((put?.body as { events: unknown[] }).events).toHaveLength(1);
    const ss = screen.getByText("%SS").parentElement as HTMLElement;
    expect(ss).toHaveTextContent("0.0");
  });

  it("relabels an event and explains a conflict (412) without losing the page", async () => {
    const { api, calls } = fakeApi(
      routes(() => apiError(412, "precondition_failed", "the annotation changed")),
    );
    renderAt("/app/recordings/r1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Review" }));
    await userEvent.selectOptions(screen.getByLabelText("Type of event 1"), "prolongation");
    await userEvent.click(screen.getByRole("button", { name: "Save review" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      /Someone saved a newer review of this recording/,
    );
    const sent = (calls.find((c) => c.method === "PUT")?.body as { events: { type: string }[] })
      .events;
    expect(sent[0]?.type).toBe("prolongation");
    expect(screen.getByRole("button", { name: "Save review" })).toBeEnabled();
    // The button does what the message asks: it loads the latest version.
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
    expect(screen.getByRole("button", { name: "Load the latest version" })).toBeEnabled();
  });

  it("corrects a word: the saved words and the event over it carry the new text", async () => {
    const { api, calls } = fakeApi(routes(savedVersion2));
    renderAt("/app/recordings/r1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Review" }));
    const transcript = screen.getByLabelText("Transcript");
    await userEvent.click(within(transcript).getByRole("button", { name: "um" }));
    const field = screen.getByLabelText("Correct the word at 0:00.0");
    expect(field).toHaveValue("um");
    expect(screen.getByRole("button", { name: "Apply correction" })).toBeDisabled();
    await userEvent.clear(field);
    await userEvent.type(field, "uh");
    await userEvent.click(screen.getByRole("button", { name: "Apply correction" }));
    expect(within(transcript).getByRole("button", { name: "uh" })).toHaveClass("corrected");
    expect(screen.getByLabelText("Events")).toHaveTextContent("“uh”");

    await userEvent.click(screen.getByRole("button", { name: "Save review" }));
    await screen.findByText(/Review saved as version 2/);
    const body = calls.find((c) => c.method === "PUT")?.body as {
      segments: Segment[];
      events: { text: string }[];
    };
    expect(body.segments[0]?.words.map((w) => w.word)).toEqual([" uh", " I", " I", " want"]);
    expect(body.events[0]?.text).toBe("uh");
  });

  it("re-times an event, refusing an end before its start", async () => {
    const { api, calls } = fakeApi(routes(savedVersion2));
    renderAt("/app/recordings/r1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Review" }));
    const end = screen.getByLabelText("End of event 2 (seconds)");
    await userEvent.clear(end);
    await userEvent.type(end, "0.2");
    expect(screen.getByRole("alert")).toHaveTextContent("Event 2 ends before it starts.");
    expect(screen.getByRole("button", { name: "Save review" })).toBeDisabled();

    await userEvent.clear(end);
    await userEvent.type(end, "1.25");
    const start = screen.getByLabelText("Start of event 2 (seconds)");
    await userEvent.clear(start);
    await userEvent.type(start, "0.45");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Save review" }));
    await screen.findByText(/Review saved as version 2/);
    const sent = (calls.find((c) => c.method === "PUT")?.body as {
      events: { start: number; end: number }[];
    }).events;
    expect(sent[1]).toMatchObject({ start: 0.45, end: 1.25 });
  });
});

describe("one set of event type fields", () => {
  it("adds an event with the same type and kind selects the list uses", async () => {
    const { api, calls } = fakeApi(routes(savedVersion2));
    renderAt("/app/recordings/r1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Review" }));
    const transcript = screen.getByLabelText("Transcript");
    await userEvent.click(within(transcript).getByRole("button", { name: "want" }));
    const form = screen.getByRole("form", { name: "Add an event" });
    await userEvent.selectOptions(within(form).getByLabelText("Type"), "repetition");
    await userEvent.selectOptions(within(form).getByLabelText("Kind"), "part_word");
    await userEvent.click(within(form).getByRole("button", { name: "Add event" }));
    await userEvent.click(screen.getByRole("button", { name: "Save review" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    const sent = (calls.find((c) => c.method === "PUT")?.body as {
      events: { type: string; subtype: string; start: number; text: string }[];
    }).events;
    expect(sent).toHaveLength(3);
    expect(sent[2]).toMatchObject({ type: "repetition", subtype: "part_word", start: 1.1, text: "want" });
  });
});
