"""The web console end to end: Debian's Chromium (Playwright) against the whole platform.

A clinician opens ``/`` and is sent to sign in, signs up, adds a client, records a session
through a fake microphone that plays ``fixtures/disfluent_block.wav``, watches it being
processed, finds words and a highlighted event in the transcript under a breadcrumb naming the
client, removes an event and corrects a word and sees the metrics change, asks for a Portuguese
report, uploads a second session (refused first, its one channel said to be two), plays it and
seeks by clicking a word, and sees both sessions on the client's chart; the admin pages open, and
on a 390×844 phone no page scrolls sideways.
A second clinic's user then sees none of it. Every screen is saved under
``test-artifacts/console/`` (git-ignored).

Chromium is required, not optional: without ``/usr/bin/chromium`` these tests fail
(``.ci/run`` installs it). The console must be built (``make test`` builds it first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.platform import REPO, Platform
from tests.support import fresh_email

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FIXTURES = Path(__file__).parent / "fixtures"
SPEECH = FIXTURES / "disfluent_block.wav"  # "so um I wanted to to tell you about uh my my weekend"
SHOTS = REPO / "test-artifacts" / "console"
PASSWORD = "a long passphrase for the console"
PROCESSING_TIMEOUT_MS = 240_000
SERVER_TIMEOUT_MS = 20_000
"""What an assertion or action waits for a page that needs the API (a sign-in hashes a password;
a client's page makes several calls): Playwright's 5 s is short on a busy 2-core CI machine."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    assert (REPO / "web" / "dist" / "index.html").is_file(), "build the console: make web"
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=SERVER_TIMEOUT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={SPEECH}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield instance
        instance.close()


class Console:
    """One browser context (one clinician) with its console log watched for CSP violations."""

    def __init__(self, browser: Browser, base_url: str, *, phone: bool = False) -> None:
        viewport: ViewportSize = (
            {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
        )
        self.context = browser.new_context(
            base_url=base_url, viewport=viewport, permissions=["microphone"]
        )
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(SERVER_TIMEOUT_MS)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"CSP: {text}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def signup(self, clinic: str) -> str:
        email = fresh_email()
        self.page.goto("/signup")
        self.page.get_by_label("Clinic name").fill(clinic)
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Create clinic").click()
        expect(self.page.get_by_role("heading", name="Clients")).to_be_visible()
        return email

    def close(self) -> None:
        self.context.close()


def assert_fits_a_phone(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what} scrolls sideways on a phone ({width}px)"


def metrics_text(page: Page) -> str:
    return page.get_by_label("Metrics").inner_text()


def test_a_clinician_records_reviews_and_reports(browser: Browser, platform: Platform) -> None:
    clinician = Console(browser, platform.url)
    page = clinician.page

    # The console is at /: signed out, it asks to sign in. Then sign up and add a client.
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to Fluently")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))
    clinician.shot("01-sign-in")
    email = clinician.signup("Console Clinic")
    expect(page.get_by_text("No clients yet.")).to_be_visible()
    page.get_by_role("button", name="Add client").click()
    page.get_by_label("Name").fill("Ana Souza")
    page.get_by_label("Record number").fill("R-17")
    page.get_by_role("button", name="Save client").click()
    expect(page.get_by_role("link", name="Ana Souza")).to_be_visible()
    clinician.shot("02-clients")
    page.get_by_role("link", name="Ana Souza").click()
    expect(page.get_by_role("heading", name="Ana Souza")).to_be_visible()
    client_url = page.url

    # Record a session with the fake microphone; follow its progress to processed.
    page.locator("main").get_by_role("link", name="New session").click()
    # The combobox by its exact name: until the new page replaces the client's, the form
    # "Assign a clinician to this client" also has a label with "client" in it.
    expect(page.get_by_role("heading", name="New session")).to_be_visible()
    expect(page.get_by_role("combobox", name="Client", exact=True)).to_have_value(
        client_url.rsplit("/", 1)[1]
    )
    page.get_by_label("Task").select_option("reading")
    page.get_by_role("button", name="Start recording").click()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"0:0[1-9]"), timeout=5_000)
    page.wait_for_timeout(9_500)
    clinician.shot("03-recording")
    page.get_by_role("button", name="Stop recording").click()
    expect(page.get_by_text(re.compile(r"Recorded 0:\d\d"))).to_be_visible()
    page.get_by_role("button", name="Upload and analyse").click()
    expect(page.get_by_role("heading", name="Processing the session")).to_be_visible()
    expect(page.locator(".badge").first).to_have_text("Processed", timeout=PROCESSING_TIMEOUT_MS)
    clinician.shot("04-processed")
    page.get_by_role("link", name="Open the recording").click()

    # The transcript shows words and at least one highlighted event.
    transcript = page.get_by_role("region", name="Transcript")
    expect(transcript.locator(".word").first).to_be_visible()
    assert transcript.locator(".word").count() >= 5
    assert transcript.locator(".word.event").count() >= 1
    expect(page.get_by_role("group", name="Disfluency types")).to_be_visible()
    expect(page.locator(".crumbs").get_by_role("link", name="Ana Souza")).to_be_visible()
    expect(page.get_by_label("Recording audio")).to_be_visible()
    clinician.shot("05-recording")
    recording_url = page.url

    # Correct one counted event (remove it) and one word: a new version, other metrics.
    before = metrics_text(page)
    page.get_by_role("button", name="Review", exact=True).click()
    counted = page.get_by_label("Events").locator("li").filter(has_not_text="to review")
    counted.first.get_by_role("button", name=re.compile("^Remove ")).click()
    plain_word = transcript.locator(".word:not(.event)").last
    corrected = re.sub(r"\W+$", "", plain_word.inner_text().strip()) + "s"  # weekend. → weekends
    plain_word.click()
    page.get_by_label(re.compile("^Correct the word at")).fill(corrected)
    page.get_by_role("button", name="Apply correction").click()
    expect(transcript.locator(".word.corrected")).to_have_text(corrected)
    clinician.shot("06-review")
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_text(re.compile("Review saved as version 2"))).to_be_visible()
    assert metrics_text(page) != before
    expect(transcript.get_by_role("button", name=corrected, exact=True)).to_be_visible()

    # A Portuguese report from the reviewed annotation.
    page.get_by_role("link", name="Report").click()
    page.get_by_label("Language").select_option("pt")
    page.get_by_label("Report type").select_option("comprehensive")
    page.get_by_role("button", name="Write report").click()
    report = page.get_by_role("article", name="Report")
    expect(report).to_have_attribute("lang", "pt", timeout=PROCESSING_TIMEOUT_MS)
    expect(report.get_by_role("heading", name=re.compile("Relatório"))).to_be_visible()
    clinician.shot("07-report")

    # A second session, uploaded as a file and dated a week earlier.
    page.goto(client_url)
    page.locator("main").get_by_role("link", name="New session").click()
    page.get_by_label("Upload a file").check()
    page.get_by_label("Audio file").set_input_files(str(SPEECH))
    earlier = (datetime.now() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Recorded at").fill(earlier)
    page.get_by_label("Task").select_option("reading")
    # Its speech said to be on the left channel of a one-channel file: refused, saying why, and
    # nothing is stored (the chart below has two sessions).
    page.get_by_label("Speech on").select_option("left")
    page.get_by_role("button", name="Upload and analyse").click()
    expect(page.get_by_role("alert")).to_contain_text("needs a two-channel recording")
    page.get_by_label("Speech on").select_option("mix")
    page.get_by_role("button", name="Upload and analyse").click()
    expect(page.locator(".badge").first).to_have_text("Processed", timeout=PROCESSING_TIMEOUT_MS)

    # Its page plays the uploaded file; clicking a word moves the player to that word.
    page.get_by_role("link", name="Open the recording").click()
    player = page.get_by_label("Recording audio")
    expect(player).to_be_visible()
    page.wait_for_function("document.querySelector('audio.player')?.readyState >= 1")
    assert player.evaluate("audio => audio.duration") > 5
    word = page.get_by_role("region", name="Transcript").locator(".word").nth(4)
    start = float(word.get_attribute("data-start") or "nan")
    word.click()
    assert abs(player.evaluate("audio => audio.currentTime") - start) < 0.25
    expect(word).to_have_attribute("aria-current", "time")

    # The client's chart: both sessions, the reviewed one filled.
    page.goto(client_url)
    chart = page.locator("svg[data-metric='percent_syllables_stuttered']")
    expect(chart.locator("circle.point")).to_have_count(2)
    expect(chart.locator("circle.point.reviewed")).to_have_count(1)
    expect(page.locator("tbody tr")).to_have_count(2)
    clinician.shot("08-client")

    # Admin pages.
    page.get_by_role("link", name="Audit log").click()
    # Filtered: the report's polls above wrote report_read entries, which can push the review's
    # entry off the first page of 50 when the report took a while.
    page.get_by_label("Action").select_option("annotation_changed")
    expect(page.get_by_role("cell", name="Annotation changed").first).to_be_visible()
    clinician.shot("09-audit")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Add a user")).to_be_visible()
    expect(page.get_by_role("cell", name=email)).to_be_visible()
    clinician.shot("10-users")
    page.get_by_role("link", name="Clinic").click()
    expect(page.get_by_role("heading", name="Clinic settings")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("audio retention"))).to_be_visible()
    clinician.shot("11-clinic")

    # A reload keeps the session (refresh cookie) and the address.
    page.goto(recording_url)
    expect(page.get_by_role("region", name="Transcript")).to_be_visible()

    # On a phone: sign in, the clients, a client, a new session and a recording, none wider.
    phone = Console(browser, platform.url, phone=True)
    phone.page.goto("/login")
    expect(phone.page.get_by_role("heading", name="Sign in to Fluently")).to_be_visible()
    assert_fits_a_phone(phone.page, "the sign-in page")
    phone.page.get_by_label("Email").fill(email)
    phone.page.get_by_label("Password").fill(PASSWORD)
    phone.page.get_by_role("button", name="Sign in").click()
    expect(phone.page.get_by_role("link", name="Ana Souza")).to_be_visible()
    assert_fits_a_phone(phone.page, "the clients list")
    phone.shot("12-clients-phone")
    phone.page.get_by_role("link", name="Ana Souza").click()
    expect(phone.page.locator("svg[data-metric] circle.point")).to_have_count(4)
    assert_fits_a_phone(phone.page, "the client page")
    phone.shot("13-client-phone")
    phone.page.locator("main").get_by_role("link", name="New session").click()
    expect(phone.page.get_by_role("button", name="Start recording")).to_be_visible()
    assert_fits_a_phone(phone.page, "the new session page")
    phone.page.goto(recording_url)
    expect(phone.page.get_by_role("region", name="Transcript")).to_be_visible()
    assert_fits_a_phone(phone.page, "the recording page")
    phone.shot("14-recording-phone")

    # Another clinic sees none of it.
    other = Console(browser, platform.url)
    other.signup("Other Clinic")
    expect(other.page.get_by_text("No clients yet.")).to_be_visible()
    other.page.goto(recording_url)
    expect(other.page.get_by_role("alert")).to_be_visible()
    expect(other.page.get_by_role("region", name="Transcript")).to_have_count(0)
    other.page.goto(client_url)
    expect(other.page.get_by_role("alert")).to_be_visible()
    expect(other.page.get_by_text("Ana Souza")).to_have_count(0)

    # Logging out ends the session: a reload asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Fluently")).to_be_visible()
    page.goto(client_url)
    expect(page.get_by_role("heading", name="Sign in to Fluently")).to_be_visible()

    for console in (clinician, phone, other):
        assert console.problems == [], console.problems
        console.close()
