"""One live service for the browser tests of pages staff and learners use, built without kernels.

Ada passed exploratory-stats once her manual cell was graded (she holds a credential); Bob (who
copied Ada's notebook) and Cyrus (who changed a locked cell) wait for manual grading. Used through
the session fixture ``site`` (tests/conftest.py): one server per test process.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.browsing import free_port, new_page, serve
from tests.nbcred.instructor.instructor_course import ASSESSMENT, SAMPLES, graded_submission, open_course

PASSWORD = "accessible horse battery"


@dataclass
class Site:
    base: str
    ctx: Any
    submission: str  # Ada's: passed after manual grading, with a credential
    waiting: list[str]  # Bob's and Cyrus's, oldest first: they need manual grading
    credential: str  # Ada's credential id (urn:uuid:…)
    sessions: dict[str, Any]  # who -> the cookies of one sign-in (argon2 is slow on purpose)

    def page(self, browser: Any, who: str | None, width: int = 1100) -> Any:
        """A new page signed in as ``who`` (anonymous for None); close its ``.context`` after use."""
        if who is None or who in self.sessions:
            return new_page(browser, width=width, storage_state=self.sessions.get(who or ""))
        page = new_page(browser, width=width)
        page.goto(f"{self.base}/signin")
        page.fill("input[name=email]", f"{who}@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/signin" not in url)
        self.sessions[who] = page.context.storage_state()
        return page


@contextmanager
def build(root: Path) -> Iterator[Site]:
    from nbcred.service import manual
    from nbcred.service.sessions import set_password
    from nbcred.service.users import account_for_token, add_user, create_token
    from nbcred.web.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    course = open_course(root / "home", password=PASSWORD, public_base_url=base)
    ctx = course.ctx
    for who in ("ada", "alan"):
        set_password(ctx, email=f"{who}@example.org", password=PASSWORD)
    copied = root / "uploads" / "bob"
    shutil.copytree(SAMPLES / ASSESSMENT / "alice", copied)
    waiting = []
    for email, name, content, upload, tampered in (
            ("bob@example.org", "Bob Copier", "two", copied, ()),
            ("cyrus@example.org", "Cyrus Obi", "three", SAMPLES / ASSESSMENT / "carol", ("explore/load",))):
        add_user(ctx, email=email, name=name, role="learner")
        learner = account_for_token(ctx, create_token(ctx, email=email).token)
        assert learner is not None
        waiting.append(graded_submission(ctx, learner, content=content, upload=upload, tampered=tampered))
    detail = manual.grade_cell(ctx, course.account("grace"), course.submission, notebook="explore",
                               grade_id="interpretation", score=2, comment="Careful and complete.")
    assert detail.credential
    with serve(create_app(ctx.settings, ctx=ctx), port=port) as url:
        yield Site(url, ctx, course.submission, waiting, detail.credential, {})
