import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { DisfluencyEvent, DisfluencyType } from "../api/types";
import { EventLegend } from "../components/EventLegend";

const event = (type: DisfluencyType, start: number, to_review = false): DisfluencyEvent => ({
  type,
  text: "um",
  start,
  end: start + 0.3,
  to_review,
});

describe("EventLegend", () => {
  it("counts what the report counts and names the events to review beside it", () => {
    const events = [
      event("interjection", 0.5),
      event("interjection", 2.0),
      event("interjection", 3.5, true),
      event("block", 5.0),
    ];
    render(<EventLegend events={events} shown={new Set()} onChange={() => {}} />);
    const legend = screen.getByRole("group", { name: "Disfluency types" });
    expect(legend).toHaveTextContent("Interjection (2 + 1 to review)");
    expect(legend).toHaveTextContent("Block (1)");
    expect(legend).toHaveTextContent("Revision (0)");
  });
});
