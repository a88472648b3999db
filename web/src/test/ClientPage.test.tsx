import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ADMIN, apiError, fakeApi, json, renderAt, SESSION, spyOnDownloads } from "./fakeApi";
import { CLIENT } from "./recording";

const MEMBER = { id: "u2", email: "sam@clinic.example", role: "member" as const, tenant_id: "t1" };
const EMPTY_SERIES = { metric: "x", unit: "", points: [] };

function routes(extra = {}) {
  return {
    "GET /clients/c1": () => json(CLIENT),
    "GET /clients/c1/recordings?limit=50": () => json({ items: [], next_cursor: null }),
    "GET /clients/c1/progress?metric=percent_syllables_stuttered": () => json(EMPTY_SERIES),
    "GET /clients/c1/progress?metric=syllables_per_minute": () => json(EMPTY_SERIES),
    "GET /clients/c1/assignments": () => json([]),
    "GET /users": () => json([ADMIN, MEMBER]),
    ...extra,
  };
}

describe("editing a client", () => {
  it("sends only the changed fields and shows the saved name", async () => {
    const { api, calls } = fakeApi(
      routes({
        "PATCH /clients/c1": () => json({ ...CLIENT, display_name: "Ana M. Souza", notes: "Reads well" }),
      }),
    );
    renderAt("/app/clients/c1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Edit details" }));
    const form = screen.getByRole("form", { name: "Edit client" });
    expect(within(form).getByLabelText("Record number")).toHaveValue("R-17");
    const name = within(form).getByLabelText("Name");
    await userEvent.clear(name);
    await userEvent.type(name, "Ana M. Souza");
    await userEvent.type(within(form).getByLabelText("Notes"), "Reads well");
    await userEvent.click(within(form).getByRole("button", { name: "Save details" }));
    expect(await screen.findByRole("heading", { name: "Ana M. Souza" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Details saved.");
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toEqual({ display_name: "Ana M. Souza", notes: "Reads well" });
  });

  it("keeps the form and shows the API's message when the save fails", async () => {
    const { api } = fakeApi(
      routes({
        "PATCH /clients/c1": () =>
          apiError(422, "validation_error", "date_of_birth: must not be in the future"),
      }),
    );
    renderAt("/app/clients/c1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Edit details" }));
    const form = screen.getByRole("form", { name: "Edit client" });
    await userEvent.type(within(form).getByLabelText("Date of birth"), "2099-01-01");
    await userEvent.click(within(form).getByRole("button", { name: "Save details" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent(
      "date_of_birth: must not be in the future",
    );
    expect(screen.getByRole("heading", { name: "Ana Souza" })).toBeInTheDocument();
  });
});

describe("assignments", () => {
  it("assigns a clinician and unassigns them (admins)", async () => {
    let assigned: unknown[] = [];
    const row = { user_id: "u2", email: MEMBER.email, role: "member", assigned_at: "2026-02-01T10:00:00Z" };
    const { api, calls } = fakeApi(
      routes({
        "GET /clients/c1/assignments": () => json(assigned),
        "POST /clients/c1/assignments": () => {
          assigned = [row];
          return json(row, 201);
        },
        "DELETE /clients/c1/assignments/u2": () => {
          assigned = [];
          return new Response(null, { status: 204 });
        },
      }),
    );
    renderAt("/app/clients/c1", api);
    expect(await screen.findByText("No one is assigned yet.")).toBeInTheDocument();
    await userEvent.selectOptions(await screen.findByLabelText("Clinician to assign"), "u2");
    await userEvent.click(screen.getByRole("button", { name: "Assign" }));
    const list = await screen.findByRole("list", { name: "Assigned clinicians" });
    expect(list).toHaveTextContent(MEMBER.email);
    expect(calls.find((c) => c.method === "POST" && c.path.endsWith("/assignments"))?.body).toEqual({
      user_id: "u2",
    });
    await userEvent.click(screen.getByRole("button", { name: `Unassign ${MEMBER.email}` }));
    expect(await screen.findByText("No one is assigned yet.")).toBeInTheDocument();
  });

  it("only lists who is assigned for a member, with no erase", async () => {
    const member = { ...SESSION, user: MEMBER };
    const { api } = fakeApi({
      ...routes(),
      "POST /auth/refresh": () => json(member),
    });
    renderAt("/app/clients/c1", api);
    expect(await screen.findByText("No one is assigned yet.")).toBeInTheDocument();
    expect(screen.queryByLabelText("Clinician to assign")).not.toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Erase this client" })).not.toBeInTheDocument();
  });
});

describe("erasing a client", () => {
  it("asks for the client's name typed out, then erases and says so", async () => {
    const { api, calls } = fakeApi(
      routes({
        "DELETE /clients/c1": () => new Response(null, { status: 204 }),
        "GET /clients?limit=50": () => json({ items: [], next_cursor: null }),
      }),
    );
    renderAt("/app/clients/c1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Erase client…" }));
    const confirm = screen.getByLabelText(/Type the client's name, Ana Souza, to confirm/);
    const erase = screen.getByRole("button", { name: "Erase permanently" });
    expect(erase).toBeDisabled();
    await userEvent.type(confirm, "Ana");
    expect(erase).toBeDisabled();
    await userEvent.type(confirm, " Souza");
    expect(erase).toBeEnabled();
    await userEvent.click(erase);
    expect(await screen.findByRole("heading", { name: "Clients" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Ana Souza was erased");
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/clients/c1")).toBe(true);
  });

  it("stays on the page with the API's message when erasure is refused", async () => {
    const { api } = fakeApi(
      routes({
        "DELETE /clients/c1": () => apiError(403, "forbidden", "only admins erase clients"),
      }),
    );
    renderAt("/app/clients/c1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Erase client…" }));
    await userEvent.type(screen.getByLabelText(/to confirm/), "Ana Souza");
    await userEvent.click(screen.getByRole("button", { name: "Erase permanently" }));
    const form = screen.getByRole("form", { name: "Erase client" });
    await waitFor(() => expect(within(form).getByRole("alert")).toHaveTextContent("only admins erase clients"));
    expect(screen.getByRole("heading", { name: "Ana Souza" })).toBeInTheDocument();
  });
});

describe("exporting a client", () => {
  it("saves the zip under the API's file name, or shows why it could not", async () => {
    const { saved, restore } = spyOnDownloads();
    let refuse = false;
    const { api } = fakeApi(
      routes({
        "GET /clients/c1/export": () =>
          refuse
            ? apiError(403, "forbidden", "Only assigned clinicians export a client.")
            : new Response(new Uint8Array([80, 75, 3, 4]), {
                headers: {
                  "Content-Type": "application/zip",
                  "Content-Disposition": 'attachment; filename="client-c1.zip"',
                },
              }),
      }),
    );
    renderAt("/app/clients/c1", api);
    await userEvent.click(await screen.findByRole("button", { name: "Export (zip)" }));
    await waitFor(() => expect(saved).toEqual(["client-c1.zip"]));
    refuse = true;
    await userEvent.click(await screen.findByRole("button", { name: "Export (zip)" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Only assigned clinicians export a client.",
    );
    restore();
  });
});
