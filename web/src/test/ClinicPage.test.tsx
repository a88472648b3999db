import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ADMIN, SESSION, apiError, fakeApi, json, renderAt } from "./fakeApi";

const TENANT = { id: "t1", name: "Clinic", audio_retention_days: null, created_at: "2026-01-01T00:00:00Z" };

describe("audio retention", () => {
  it("sets a period in days, then keeps audio again", async () => {
    const { api, calls } = fakeApi({
      "GET /tenant": () => json(TENANT),
      "PATCH /tenant": (call) => json({ ...TENANT, ...(call.body as object) }),
    });
    renderAt("/app/admin/clinic", api);
    expect(await screen.findByText(/Audio is kept until someone deletes/)).toBeInTheDocument();
    await userEvent.click(screen.getByLabelText("Delete it a number of days after upload"));
    const days = screen.getByLabelText("Days to keep audio");
    await userEvent.clear(days);
    await userEvent.type(days, "90");
    await userEvent.click(screen.getByRole("button", { name: "Save retention" }));
    expect(await screen.findByText(/Audio is deleted 90 days after upload/)).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([
      { audio_retention_days: 90 },
    ]);
    await userEvent.click(screen.getByLabelText("Keep it until the recording is deleted"));
    await userEvent.click(screen.getByRole("button", { name: "Save retention" }));
    expect(await screen.findByText(/Audio is kept until someone deletes/)).toBeInTheDocument();
  });

  it("tells a member the page is for admins, with nothing to try again", async () => {
    const member = { ...SESSION, user: { ...ADMIN, role: "member" as const } };
    const { api, calls } = fakeApi({ "POST /auth/refresh": () => json(member) });
    renderAt("/app/admin/clinic", api);
    expect(await screen.findByRole("alert")).toHaveTextContent("Only a clinic's admins change its settings.");
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
    expect(calls.map((c) => c.path)).not.toContain("/tenant");
  });

  it("shows the API's message when the setting cannot be read", async () => {
    const { api } = fakeApi({
      "GET /tenant": () => apiError(503, "service_unavailable", "the database is unreachable"),
    });
    renderAt("/app/admin/clinic", api);
    expect(await screen.findByRole("alert")).toHaveTextContent("the database is unreachable");
  });
});
