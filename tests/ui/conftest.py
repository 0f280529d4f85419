"""A real local stack (as `make up`) and Debian's chromium driven by Playwright, once per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Screenshots, kept as test artifacts.
SCREENSHOTS = REPO / "build" / "ui-screenshots"
CHROMIUM = Path("/usr/bin/chromium")
#: chromium in containers/CI: no sandbox (root), no GPU, nothing phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory, reference_data: Path) -> Iterator:
    """api-server, scheduler, dag-processor and triggerer over empty demo folders (the `make up` setup)."""
    from stix_lib.settings import load_settings
    from stix_ops.dev.demo import demo_env
    from stix_ops.dev.localstack import LocalStack, StackConfig

    root = tmp_path_factory.mktemp("ui") / "demo"
    env = demo_env(root, reference_data)
    load_settings(environ=env).ensure_folders()
    stack = LocalStack(StackConfig(home=root / "airflow-home", extra_env=env, parallelism=4))
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy()
        stack.wait_for_dags(["stix_level_processing", "stix_reprocess", "stix_soar_publish", "stix_fits_nas_sync"])
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's chromium under Playwright (never `playwright install`)."""
    from playwright import sync_api  # pinned in requirements.txt: a missing install fails, never skips

    assert CHROMIUM.is_file(), f"{CHROMIUM} missing: apt-get install chromium"
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """The screenshot folder, emptied once per module."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def page(ui_stack, browser, screenshots):
    """A logged-in page (admin, the stack's generated password)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{ui_stack.config.api_url}/")
    page.wait_for_url("**/login**")
    page.screenshot(path=screenshots / "01-login.png")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ui_stack.config.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "login" not in url)
    yield page
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    """A failed browser test leaves a screenshot and the page's HTML (what the browser showed)."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() else "-" for c in item.name)
        try:
            page.screenshot(path=SCREENSHOTS / f"FAILED-{name}.png", full_page=True)
            (SCREENSHOTS / f"FAILED-{name}.html").write_text(page.content())
        except Exception as exc:  # the report must not fail because the page is gone
            print(f"no failure screenshot: {exc}")
