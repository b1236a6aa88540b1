"""Browser test of the dashboard: headless Chromium, driven through chromedriver's W3C WebDriver
HTTP API, against a running ``cmms serve`` loaded with the example site (see run.sh).

Usage: ``python dashboard_test.py --base-url URL --token TOKEN --webdriver URL --chromium PATH
--screenshots DIR``. The token needs ``read`` and ``operate``. Signs in through the form, loads
every page and checks its rows and that the plots rendered (SVG with visible lines), then acts:
accepts the scan count that paused BRG-6204, approves its computed thresholds on its part page (so
routing raises a procurement request and holds the chiller's PM for material), releases, starts and
completes a work order and resumes another from its asset page (each through its confirmation), and
resolves the quarantined SKUs (the ambiguous one only after a part is chosen); each effect is checked
on the pages. A screenshot of every page lands in the screenshots folder.
Prints one line per check and a closing ``browser: N passed, N failed`` line; exits 1 on failure.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from typing import Callable, List

from webdriver import ELEMENT, Driver, WebDriverError


class CheckFailed(AssertionError):
    """A check of the dashboard did not hold."""


def expect(condition: bool, message: str) -> None:
    """Fails the current check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


ROWS = "return Array.from(document.querySelectorAll('main table tbody tr')).map(r => r.innerText)"
"""A script returning the text of every table row of the page's main part."""

PLOTS = """return Array.from(document.querySelectorAll('svg.plot')).map(svg => {
  const marks = Array.from(svg.querySelectorAll('path, circle, rect.bar-mark, line.level'));
  const box = svg.getBoundingClientRect();
  return {
    label: svg.getAttribute('aria-label'),
    series: Number(svg.dataset.series),
    width: box.width, height: box.height,
    paths: Object.values(Array.from(svg.querySelectorAll('path')).reduce((by, p) => {
      const k = p.getAttribute('stroke'); by[k] = Math.max(by[k] || 0, p.getBBox().width); return by;
    }, {})),
    circles: svg.querySelectorAll('circle').length,
    bars: svg.querySelectorAll('rect.bar-mark').length,
    levels: svg.querySelectorAll('line.level').length,
    legend: Array.from(svg.querySelectorAll('text.legend')).map(t => {
      const b = t.getBBox(); return {text: t.textContent, right: b.x + b.width};
    }),
    viewWidth: svg.viewBox.baseVal.width,
    marks: marks.length,
  };
})"""
"""A script describing every plot: its size, series, the widest line of each colour, and its legend."""


class DashboardTest:
    """The checks, in order; they share one browser session."""

    def __init__(self, driver: Driver, base_url: str, token: str, shots: str):
        self.d = driver
        self.base = base_url.rstrip("/")
        self.token = token
        self.shots = shots
        self.n_shot = 0

    def open(self, path: str, title: str = "") -> None:
        """Navigates to a dashboard path; with ``title``, checks the page's heading starts with it."""
        self.d.get(self.base + path)
        if title:
            heading = self.d.script("const h = document.querySelector('main h1'); return h ? h.textContent : ''")
            expect(heading.startswith(title), f"{path}: heading {heading!r}, expected {title!r}")

    def shot(self, name: str) -> None:
        """Saves a numbered screenshot of the current page."""
        self.n_shot += 1
        self.d.screenshot(os.path.join(self.shots, f"{self.n_shot:02d}-{name}.png"))

    def submit(self, button_css: str, flash_contains: str, timeout: float = 15.0) -> str:
        """Clicks a form's button and waits for the page it leads to: the flash message containing
        ``flash_contains`` (the click returns before the new page is loaded). Returns the flash text."""
        self.d.find(button_css).click()
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                text = self.d.find("p.flash").text()
                if flash_contains in text:
                    return text
            except WebDriverError:
                pass
            time.sleep(0.1)
        expect(False, f"no flash containing {flash_contains!r} after clicking {button_css} (last: {text!r})")
        return text

    def wait_for(self, condition, what: str, timeout: float = 15.0) -> None:
        """Waits until ``condition()`` holds (a click returns before the page it leads to loads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except WebDriverError:
                pass
            time.sleep(0.1)
        expect(False, f"{what} (waited {timeout:.0f} s; now at {self.d.current_url()})")

    def rows(self) -> List[str]:
        """The text of every table row on the page."""
        return self.d.script(ROWS)

    def text(self) -> str:
        """The visible text of the page's main part."""
        return self.d.script("return document.querySelector('main').innerText")

    def row_of(self, needle: str) -> str:
        """The one row containing ``needle``."""
        found = [r for r in self.rows() if needle in r]
        expect(len(found) == 1, f"expected one row with {needle!r}, got {found}")
        return found[0]

    def plots_visible(self, want: int) -> list:
        """Checks that ``want`` plots rendered, every line spanning part of the plot and every legend inside it."""
        plots = self.d.script(PLOTS)
        expect(len(plots) == want, f"expected {want} plots, got {len(plots)}")
        for p in plots:
            expect(p["width"] > 300 and p["height"] > 100, f"plot {p['label']} rendered at {p['width']}x{p['height']}")
            expect(p["marks"] > 0, f"plot {p['label']} drew nothing: {p}")
            for w in p["paths"]:
                expect(w >= 20, f"plot {p['label']} has a line only {w:.1f} units wide: {p['paths']}")
            for entry in p["legend"]:
                expect(entry["right"] <= p["viewWidth"], f"legend {entry['text']!r} of {p['label']} is cut off: {entry}")
        return plots

    # --- the checks -------------------------------------------------------------------------

    def sign_in(self) -> None:
        self.open("/parts")
        expect(self.d.current_url().endswith("/login"), f"not sent to sign in: {self.d.current_url()}")
        self.shot("login")
        field = self.d.find("input[name=token]")
        field.type("cmms_not-a-token")
        self.d.find("form[action='/login'] button").click()
        self.wait_for(lambda: "not valid" in self.text(), "a wrong token is refused with a message")
        self.d.find("input[name=token]").type(self.token)
        self.d.find("form[action='/login'] button").click()
        self.wait_for(lambda: self.d.current_url() == self.base + "/", "signing in leads to the overview")
        expect("signed in as browser" in self.d.find("header").text(), "the header names the token")

    def overview(self) -> None:
        self.open("/", "Overview")
        cards = self.d.script(
            "return Object.fromEntries(Array.from(document.querySelectorAll('.card')).map(c => "
            "[c.childNodes[1].textContent.trim(), c.querySelector('b').textContent]))"
        )
        expect(cards.get("parts") == "4", f"cards {cards}")
        expect(cards.get("below reorder") == "2", f"cards {cards}")
        expect(cards.get("quarantined SKUs") == "2", f"unmapped SPA1250 and ambiguous FLT-AHU: {cards}")
        expect(cards.get("drift alerts") == "2" and cards.get("scan discrepancy alerts") == "2", f"cards {cards}")
        expect(cards.get("scheduled") == "2", f"cards {cards}")
        decoration = self.d.script("return getComputedStyle(document.querySelector('a.card')).textDecorationLine")
        expect(decoration == "none", f"cards are links without underline, got {decoration}")
        heads = [h.text() for h in self.d.find_all("main h3")]
        expect(heads == ["Stock and procurement", "PM compliance", "MTBF per asset group"], f"trend headings {heads}")
        plots = self.d.script(PLOTS)
        labels = [p["label"] for p in plots]
        expect(len(plots) == 2, f"stock/procurement and MTBF plots (no PM completed yet): {labels}")
        for p in plots:
            expect(p["width"] > 300 and p["height"] > 100 and p["marks"] > 0, f"plot drawn: {p}")
            for entry in p["legend"]:
                expect(entry["right"] <= p["viewWidth"], f"legend {entry['text']!r} of {p['label']} is cut off")
        expect(plots[0]["series"] == 2, f"below reorder + open procurement: {plots[0]}")
        expect("No PM work order was completed in the last 26 weeks." in self.text(), "the empty compliance plot says why")
        self.shot("overview")

    def parts(self) -> None:
        self.open("/parts", "Parts below reorder")
        rows = self.rows()
        expect(len(rows) == 2, f"two parts below reorder: {rows}")
        expect(any(r.startswith("BRG-6204") for r in rows) and any(r.startswith("FLT-AHU-592") for r in rows), f"{rows}")
        wraps = self.d.script(
            "return Array.from(document.querySelectorAll('main td:first-child a'))"
            ".filter(a => a.getClientRects().length > 1).map(a => a.textContent)"
        )
        expect(wraps == [], f"ids wrap over lines: {wraps}")
        self.shot("parts-below-reorder")
        self.open("/parts?all=1", "All parts")
        rows = self.rows()
        expect(len(rows) == 4, f"all four parts: {rows}")
        self.shot("parts-all")

    def part_page(self) -> None:
        self.open("/parts/BRG-6204", "BRG-6204")
        expect("Deep-groove ball bearing" in self.text(), "the part's description")
        plots = self.plots_visible(2)
        expect(plots[0]["series"] == 4, f"on hand + min/reorder/max: {plots[0]}")
        expect(plots[1]["bars"] > 0, f"daily consumption bars: {plots[1]}")
        expect(any("FALLBACK" in r for r in self.rows()), "the threshold history shows the fallback")
        pending = self.d.find("section#pending-approval").text()
        expect("Computed thresholds waiting for approval" in pending and "25 / 31 / 46" in pending, f"{pending!r}")
        expect(self.d.find_all("form[action='/ui/thresholds/BRG-6204/approve?from=part'] button"), "approve button")
        paused = self.d.find("section#paused").text()
        expect("Scan S-1 at 2026-10-30 08:00 UTC counted 9" in paused, f"the pause and its scan: {paused!r}")
        expect(self.d.find_all("form[action='/ui/scans/S-1/accept?from=part'] button"), "accept button")
        self.shot("part-BRG-6204")

    def procurement_before(self) -> None:
        self.open("/procurement", "Procurement requests")
        expect(self.rows() == [], f"routing is paused by scans, so no request yet: {self.rows()}")
        self.shot("procurement-empty")

    def work_orders(self) -> None:
        self.open("/work-orders", "Work orders")
        rows = self.rows()
        expect(len(rows) == 2 and all("PM" in r for r in rows), f"{rows}")
        expect(any("CHILLER-01" in r for r in rows) and any("AHU-07" in r for r in rows), f"{rows}")
        expect(self.d.find_all("h2#SCHEDULED"), "a SCHEDULED section")
        wrong = self.d.script(
            "return Array.from(document.querySelectorAll('main tr[data-due]')).filter(r => "
            "(Number(r.dataset.due) < Date.now()) !== r.classList.contains('late')).map(r => r.innerText)"
        )
        expect(wrong == [], f"rows past due and rows marked overdue differ: {wrong}")
        expect("overdue" in self.row_of("CHILLER-01"), "the chiller's PM (due 2026-11-17) is overdue")
        self.shot("work-orders")

    def calendar(self) -> None:
        self.open("/calendar", "PM calendar")
        heads = [h.text() for h in self.d.find_all("main h2")]
        expect(heads == ["CAMPUS-SYD (Australia/Sydney)", "PLANT-BER (Europe/Berlin)"], f"{heads}")
        grids = self.d.script(
            "return Array.from(document.querySelectorAll('table.month')).map(t => "
            "Array.from(t.querySelectorAll('tbody tr')).map(r => r.children.length))"
        )
        expect(len(grids) == 2 and all(w and all(n == 7 for n in w) for w in grids), f"a month grid per site: {grids}")
        self.shot("calendar-month")
        self.open("/calendar?month=2026-11", "PM calendar")
        expect(self.d.find(".month-nav .month").text() == "November 2026", "the month asked for")
        cells = [c.text() for c in self.d.find_all("td[data-date='2026-11-17']")]
        expect(len(cells) == 2, f"the day in each site's grid: {cells}")
        expect("CHILLER-01" in cells[1] and "overdue" in cells[1], f"the chiller's PM on its day in Berlin: {cells}")
        self.shot("calendar-2026-11")
        self.d.find("a[href='/calendar?view=list']").click()
        self.wait_for(lambda: self.d.current_url().endswith("view=list"), "the list view opens")
        expect(not self.d.find_all("table.month"), "no grid in the list view")
        expect(any(r.startswith("2026-11-17") and "CHILLER-01" in r for r in self.rows()), f"{self.rows()}")
        self.shot("calendar-list")

    def assets(self) -> None:
        self.open("/assets", "Assets")
        rows = self.rows()
        expect(len(rows) == 3, f"{rows}")
        chiller = self.row_of("CHILLER-01")
        due = chiller.split("\t")[-1]
        expect(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d CES?T\b", due) is not None, f"next due in site time: {due!r}")
        # Due 2026-11-17 (as of the fixed recompute), so past due on any later day.
        expect(due.endswith("overdue"), f"the chiller's PM is marked overdue: {due!r}")
        expect("no completion recorded yet" in self.row_of("PUMP-P3"), "the asset without a completion says so")
        self.shot("assets")
        self.open("/assets/CHILLER-01", "CHILLER-01")
        plots = self.plots_visible(1)
        expect(plots[0]["circles"] > 0 and plots[0]["levels"] == 2, f"failures + MTBF + interval: {plots[0]}")
        expect(any("UNPLANNED" in r for r in self.rows()), "the failure log")
        self.shot("asset-CHILLER-01")

    def dead_letters(self) -> None:
        self.open("/dlq", "Dead letters")
        expect(self.rows() == [] and "Nothing here." in self.text(), "no dead letters in this data")
        self.shot("dlq")

    def alerts_and_actions(self) -> None:
        self.open("/alerts", "Alerts")
        rows = self.rows()
        expect(len(rows) == 4, f"two drift and two scan alerts: {rows}")
        drift = self.row_of("DRIFT\tBRG-6204")
        expect("cmms thresholds approve" not in drift, f"no CLI instruction next to the button: {drift!r}")
        self.shot("alerts")
        # Accept the count of scan S-1: stock becomes 9 and routing for the part resumes.
        self.submit("form[action='/ui/scans/S-1/accept'] button", "S-1")
        expect(len(self.rows()) == 3, f"the scan alert is resolved: {self.rows()}")
        # Approve the computed thresholds on the part page (reorder 31 > 9 on hand): routing
        # raises a request; the page shows nothing waiting any more.
        self.open("/parts/BRG-6204", "BRG-6204")
        expect(not self.d.find_all("section#paused"), "accepting the count ended the pause")
        self.submit("form[action='/ui/thresholds/BRG-6204/approve?from=part'] button", "approved")
        expect(self.d.current_url().startswith(self.base + "/parts/BRG-6204?"), f"back on the part page: {self.d.current_url()}")
        expect(not self.d.find_all("section#pending-approval"), "nothing waits for approval")
        self.shot("part-BRG-6204-approved")
        self.open("/alerts", "Alerts")
        expect(not any("DRIFT\tBRG-6204" in r for r in self.rows()), f"the drift alert is gone: {self.rows()}")
        self.shot("alerts-after-actions")
        self.open("/procurement", "Procurement requests")
        req = self.row_of("BRG-6204")
        expect("OPEN" in req and "\t37\t" in req, f"order up to max 46 - 9 available (whole bearings): {req!r}")
        self.shot("procurement-after-approve")
        self.open("/work-orders", "Work orders")
        expect("CHILLER-01" in self.d.find("h2#MATERIAL_PENDING + table").text(), "the chiller PM waits for bearings")
        self.shot("work-orders-material-pending")

    def confirm(self, link_css: str, heading: str) -> None:
        """Clicks an action's button and waits for its confirmation page."""
        self.d.find(link_css).click()
        self.wait_for(lambda: self.d.find("main h1").text().startswith(heading), f"the confirmation {heading!r}")

    def work_order_actions(self) -> None:
        self.open("/work-orders", "Work orders")
        ahu = self.row_of("AHU-07")
        expect("Release" in ahu and "Hold for material" in ahu and "Cancel" in ahu, f"SCHEDULED actions: {ahu!r}")
        expect("Start" not in ahu and "Complete" not in ahu, f"only allowed actions: {ahu!r}")
        wid = self.d.script(
            "return Array.from(document.querySelectorAll('main tr')).find(r => r.innerText.includes('AHU-07'))"
            ".querySelector('td').textContent"
        )
        self.confirm(f"a[href='/work-orders/{wid}/confirm?action=release']", "Release work order")
        expect("SCHEDULED → RELEASED" in self.text(), self.text())
        self.shot("work-order-confirm-release")
        self.submit("form.confirm button", "now RELEASED")
        self.confirm(f"a[href='/work-orders/{wid}/confirm?action=start']", "Start work order")
        self.submit("form.confirm button", "now IN_PROGRESS")
        self.confirm(f"a[href='/work-orders/{wid}/confirm?action=complete']", "Complete work order")
        field = self.d.find("input[name=completed_at]")
        value = self.d.script("return document.querySelector('input[name=completed_at]').value")
        expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$", value) is not None, f"default now in site time: {value!r}")
        expect("site time, Australia/Sydney" in self.text(), "the completion time is in the site's zone")
        self.shot("work-order-confirm-complete")
        self.d.script("arguments[0].value = '2026-11-20T09:00'", {ELEMENT: field.id})
        flash = self.submit("form.confirm button", "completed at")
        expect("completed at 2026-11-20 09:00 AEDT" in flash and "next PM" in flash, f"{flash!r}")
        expect("AHU-07" in self.d.find("h2#SCHEDULED + table").text(), "the next PM is scheduled")
        expect("AHU-07" in self.d.find("h2#COMPLETED + table").text(), "the order is completed")
        self.shot("work-orders-after-complete")
        # From the asset page: an action not confirmed changes nothing; confirmed, it leads back.
        self.open("/assets/CHILLER-01", "CHILLER-01")
        self.confirm("a.act[data-action='cancel']", "Cancel work order")
        self.d.find("a.back").click()
        self.wait_for(lambda: self.d.current_url() == self.base + "/assets/CHILLER-01", "back to the asset")
        expect("MATERIAL_PENDING" in self.text(), "still waiting for material")
        self.confirm("a.act[data-action='material_available']", "Resume (material available) work order")
        self.submit("form.confirm button", "now SCHEDULED")
        expect(self.d.current_url().startswith(self.base + "/assets/CHILLER-01?"), f"{self.d.current_url()}")
        self.shot("asset-CHILLER-01-after-action")

    def quarantine_resolve(self) -> None:
        self.open("/quarantine", "Quarantine")
        row = self.row_of("SPA1250")
        expect("UNMAPPED" in row, f"{row!r}")
        self.shot("quarantine")
        field = self.d.find("form[action='/ui/quarantine/1/resolve'] input[name=part_id]")
        field.clear()
        field.type("BLT-SPA-1250")
        flash = self.submit("form[action='/ui/quarantine/1/resolve'] button", "mapped to")
        expect("mapped to BLT-SPA-1250" in flash, f"{flash!r}")
        expect("5 consumption event" in flash and "1 snapshot" in flash, f"counts every released record: {flash!r}")
        row = self.row_of("FLT-AHU")
        expect("AMBIGUOUS" in row, f"the ambiguous SKU is left: {row!r}")
        select = "form[action='/ui/quarantine/2/resolve'] select[name=part_id]"
        options = self.d.script(
            "return Array.from(document.querySelector(arguments[0]).options).map(o => [o.value, o.selected])", select
        )
        expect(options == [["", True], ["BLT-SPA-1250", False], ["FLT-AHU-592", False]], f"no candidate preselected: {options}")
        self.shot("quarantine-ambiguous")
        self.d.find("form[action='/ui/quarantine/2/resolve'] button").click()
        time.sleep(0.5)
        missing = self.d.script("return document.querySelector(arguments[0]).validity.valueMissing", select)
        expect(missing and "FLT-AHU" in self.text(), "without a choice the form is not sent")
        self.d.find(select + " option[value='FLT-AHU-592']").click()
        flash = self.submit("form[action='/ui/quarantine/2/resolve'] button", "mapped to")
        expect("mapped to FLT-AHU-592" in flash and "1 consumption event" in flash, f"{flash!r}")
        expect(self.rows() == [] and "Nothing here." in self.text(), "the queue is empty")
        self.shot("quarantine-resolved")
        self.open("/parts?all=1", "All parts")
        expect("5" in self.row_of("BLT-SPA-1250").split("\t")[3], "the belt's snapshot was applied (5 on hand)")


def main() -> int:
    """Parses the arguments, starts the browser and runs every check."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True, help="a token with the read and operate scopes, named 'browser'")
    ap.add_argument("--webdriver", required=True, help="chromedriver's address, e.g. http://127.0.0.1:9515")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--screenshots", required=True)
    args = ap.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    driver = Driver(args.webdriver, args.chromium)
    t = DashboardTest(driver, args.base_url, args.token, args.screenshots)
    checks: List[Callable[[], None]] = [
        t.sign_in,
        t.overview,
        t.parts,
        t.part_page,
        t.procurement_before,
        t.work_orders,
        t.calendar,
        t.assets,
        t.dead_letters,
        t.alerts_and_actions,
        t.work_order_actions,
        t.quarantine_resolve,
    ]
    failed = 0
    try:
        for check in checks:
            try:
                check()
                print(f"ok   {check.__name__}")
            except Exception:  # noqa: BLE001 - every failure is reported, with a screenshot
                failed += 1
                print(f"FAIL {check.__name__}")
                traceback.print_exc(file=sys.stdout)
                try:
                    t.shot(f"FAILED-{check.__name__}")
                except Exception:  # noqa: BLE001 - the browser may be gone
                    pass
                if check == t.sign_in:
                    failed += len(checks) - 1
                    print("signing in failed; the other checks need a session")
                    break
    finally:
        driver.quit()
    print(f"browser: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
