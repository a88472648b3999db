import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, vi } from "vitest";

// jsdom has no object URLs: the audio player's Blob gets a fake one, and its revocation is seen.
let objectUrls = 0;
URL.createObjectURL = vi.fn(() => `blob:test/${++objectUrls}`);
URL.revokeObjectURL = vi.fn();

afterEach(() => cleanup());
