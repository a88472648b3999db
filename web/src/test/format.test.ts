import { afterEach, describe, expect, it } from "vitest";
import { formatDay } from "../format";

const zone = process.env.TZ;

describe("formatDay", () => {
  afterEach(() => {
    process.env.TZ = zone;
  });

  it.each(["America/Sao_Paulo", "America/Los_Angeles", "UTC", "Asia/Tokyo"])(
    "shows a calendar date as that day in %s",
    (tz) => {
      process.env.TZ = tz;
      const expected = new Date(2015, 2, 4).toLocaleDateString(undefined, { dateStyle: "medium" });
      expect(formatDay("2015-03-04")).toBe(expected);
      expect(formatDay("2010-01-01")).toContain("2010");
    },
  );

  it("shows a timestamp as its day where the viewer is", () => {
    process.env.TZ = "America/Sao_Paulo";
    const late = "2026-03-05T01:30:00+00:00"; // 22:30 on the 4th in São Paulo
    expect(formatDay(late)).toBe(new Date(2026, 2, 4).toLocaleDateString(undefined, { dateStyle: "medium" }));
  });
});
