import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, fakeApi, json, renderAt } from "./fakeApi";
import { ANNOTATION, RECORDING } from "./recording";

function routes(put: () => Response) {
  return {
    "GET /audio_recordings/r1": () => json(RECORDING),
    "GET /audio_recordings/r1/annotation": () => json(ANNOTATION, 200, { ETag: '"r1-v1"' }),
    "PUT /audio_recordings/r1/annotation": put,
  };
}

describe("events in the transcript", () => {
  it("highlights words by event type and hides a type unchecked in the legend", async () => {
    const { api } = fakeApi(routes(() => json({})));
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
    await userEvent.click(await screen.findByRole("button", { name: "Review events" }));
    await userEvent.click(screen.getByRole("button", { name: "Remove interjection at 0:00.0" }));
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
    await userEvent.click(await screen.findByRole("button", { name: "Review events" }));
    await userEvent.selectOptions(
      screen.getByLabelText("Type of event at 0:00.0"),
      "prolongation",
    );
    await userEvent.click(screen.getByRole("button", { name: "Save review" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      /Someone saved a newer review of this recording/,
    );
    const sent = (calls.find((c) => c.method === "PUT")?.body as { events: { type: string }[] })
      .events;
    expect(sent[0]?.type).toBe("prolongation");
    expect(screen.getByRole("button", { name: "Save review" })).toBeEnabled();
  });
});
