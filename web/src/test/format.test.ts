import { afterEach, describe, expect, it, vi } from "vitest";
import { formatDay } from "../format";

const day = (year: number, month: number, date: number) =>
  new Date(year, month - 1, date).toLocaleDateString(undefined, { dateStyle: "medium" });

describe("formatDay", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(["America/Sao_Paulo", "America/Los_Angeles", "UTC", "Asia/Tokyo"])(
    "shows a calendar date as that day in %s",
    (tz) => {
      vi.stubEnv("TZ", tz); // Node reads TZ again when it is set
      expect(formatDay("2015-03-04")).toBe(day(2015, 3, 4));
      expect(formatDay("2010-01-01")).toBe(day(2010, 1, 1));
    },
  );

  it("shows a timestamp as its day where the viewer is", () => {
    vi.stubEnv("TZ", "America/Sao_Paulo");
    expect(formatDay("2026-03-05T01:30:00+00:00")).toBe(day(2026, 3, 4)); // 22:30 on the 4th there
  });
});
