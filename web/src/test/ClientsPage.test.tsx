import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, fakeApi, json, renderAt } from "./fakeApi";

const CLIENT = {
  id: "c1",
  display_name: "Ana Souza",
  external_ref: "R-17",
  date_of_birth: null,
  notes: null,
  created_by: "u1",
  created_at: "2026-01-10T10:00:00Z",
  updated_at: "2026-01-10T10:00:00Z",
};

describe("clients list", () => {
  it("shows the empty state, then a created client", async () => {
    let items: unknown[] = [];
    const { api, calls } = fakeApi({
      "GET /clients?limit=50": () => json({ items, next_cursor: null }),
      "POST /clients": () => {
        items = [CLIENT];
        return json(CLIENT, 201);
      },
    });
    renderAt("/app/clients", api);
    expect(await screen.findByText("No clients yet.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Add client" }));
    await userEvent.type(screen.getByLabelText("Name"), "Ana Souza");
    await userEvent.type(screen.getByLabelText("Record number"), "R-17");
    await userEvent.click(screen.getByRole("button", { name: "Save client" }));
    expect(await screen.findByRole("link", { name: "Ana Souza" })).toHaveAttribute(
      "href",
      "/app/clients/c1",
    );
    expect(calls.find((c) => c.method === "POST" && c.path === "/clients")?.body).toMatchObject({
      display_name: "Ana Souza",
      external_ref: "R-17",
      date_of_birth: null,
    });
  });

  it("shows a loading state first", async () => {
    const { api } = fakeApi({
      "GET /clients?limit=50": () => new Promise<Response>(() => undefined),
    });
    renderAt("/app/clients", api);
    expect(await screen.findByText("Loading clients…")).toBeInTheDocument();
  });

  it("shows the API's error and tries again", async () => {
    let fail = true;
    const { api } = fakeApi({
      "GET /clients?limit=50": () =>
        fail ? apiError(503, "unavailable", "the database is not reachable") : json({ items: [CLIENT], next_cursor: null }),
    });
    renderAt("/app/clients", api);
    expect(await screen.findByRole("alert")).toHaveTextContent("the database is not reachable");
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("link", { name: "Ana Souza" })).toBeInTheDocument();
  });

  it("reads the next page when asked, so no client is out of reach", async () => {
    const second = { ...CLIENT, id: "c51", display_name: "Bruno Lima" };
    let failOnce = true;
    const { api } = fakeApi({
      "GET /clients?limit=50": () => json({ items: [CLIENT], next_cursor: "next-1" }),
      "GET /clients?cursor=next-1&limit=50": () => {
        if (failOnce) {
          failOnce = false;
          return apiError(503, "unavailable", "the database is not reachable");
        }
        return json({ items: [second], next_cursor: null });
      },
    });
    renderAt("/app/clients", api);
    expect(await screen.findByRole("link", { name: "Ana Souza" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Show more clients" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the database is not reachable");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("link", { name: "Bruno Lima" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Ana Souza" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Show more clients" })).not.toBeInTheDocument();
  });
});
