"""Sign-up with confirmation, invitations, change of e-mail, notifications, deleting one's account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nbcred.mail import Sender
from nbcred.service import ServiceContext
from nbcred.service.users import add_user
from nbcred.settings import Settings
from nbcred.store.models import Cohort, CohortMember, Learner, User
from nbcred.web.app import create_app
from tests.nbcred.mail.conftest import BASE_URL, SmtpServer, link

PASSWORD = "a long enough passphrase"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> int:
    return client.post("/signin", data={"csrf_token": csrf(client.get("/signin").text), "email": email,
                                        "password": password}, follow_redirects=False).status_code


class World:
    def __init__(self, db_url: str, smtp: SmtpServer, **changes: str) -> None:
        self.settings = Settings(database_url=db_url, serve_grading=False, smtp_url=None, **changes)
        self.ctx = ServiceContext.open(self.settings)
        self.sender = Sender(Settings(database_url=db_url, smtp_url=smtp.url), self.ctx.store)
        self.smtp = smtp

    def client(self) -> TestClient:
        return TestClient(create_app(self.settings, ctx=self.ctx))

    def deliver(self) -> None:
        self.sender.send_pending()

    def last_link(self, to: str, prefix: str) -> str:
        return link(self.smtp.mailbox.to(to)[-1], f"{BASE_URL}{prefix}").removeprefix(BASE_URL)


@pytest.mark.parametrize("mode", ["off", "invite"])
def test_sign_up_is_closed_unless_opened(home: Path, db_url: str, smtp: SmtpServer, mode: str) -> None:
    world = World(db_url, smtp, signup=mode)
    with world.client() as client:
        assert client.get("/signup").status_code == 404
        assert "Create an account" not in client.get("/signin").text
        answer = client.post("/signup", data={"csrf_token": csrf(client.get("/signin").text), "name": "X",
                                              "email": "x@example.org", "password": PASSWORD})
        assert answer.status_code == 403


def test_sign_up_for_allowed_domains_confirms_the_address_first(home: Path, db_url: str,
                                                                 smtp: SmtpServer) -> None:
    world = World(db_url, smtp, signup="domains:example.edu")
    with world.client() as client:
        page = client.get("/signup")
        assert page.status_code == 200 and "example.edu" in page.text
        form = {"csrf_token": csrf(page.text), "name": "Emmy Noether", "password": PASSWORD}
        assert client.post("/signup", data={**form, "email": "emmy@example.org"}).status_code == 403
        assert client.post("/signup", data={**form, "email": "emmy@example.edu",
                                            "password": "password1"}).status_code == 400
        sent = client.post("/signup", data={**form, "email": "emmy@example.edu"})
        assert sent.status_code == 200 and "Check your inbox" in sent.text
        world.deliver()
        with world.ctx.store.session() as session:
            assert session.scalars(select(User).where(User.email == "emmy@example.edu")).first() is None
        path = world.last_link("emmy@example.edu", "/signup/confirm/")
        assert client.get(path).status_code == 200
        done = client.post(path, data={"csrf_token": csrf(client.get(path).text)}, follow_redirects=False)
        assert done.status_code == 303
        assert client.get("/wallet").status_code == 200  # signed in
        assert client.get(path).status_code == 404
        again = client.post("/signup", data={**form, "email": "emmy@example.edu",
                                             "csrf_token": csrf(client.get("/signup").text)})
        assert again.status_code == 200 and "Check your inbox" in again.text  # the same answer
        world.deliver()
        assert len(world.smtp.mailbox.to("emmy@example.edu")) == 1  # but nothing sent
    with world.client() as fresh:
        assert sign_in(fresh, "emmy@example.edu", PASSWORD) == 303
    with world.ctx.store.session() as session:
        user = session.scalars(select(User).where(User.email == "emmy@example.edu")).one()
        assert "@" not in user.learner_id  # never the address: deleting the account erases it


def test_invitation_creates_the_account_and_joins_the_cohort(home: Path, db_url: str, smtp: SmtpServer,
                                                             tmp_path: Path) -> None:
    world = World(db_url, smtp, signup="invite")
    add_user(world.ctx, email="grace@example.org", name="Grace", role="instructor", password=PASSWORD)
    with world.ctx.store.session() as session:
        session.add(Cohort(id="fall", title="Fall cohort"))
    with world.client() as staff:
        assert sign_in(staff, "grace@example.org", PASSWORD) == 303
        form = staff.get("/instructor/cohorts/fall/invite")
        assert form.status_code == 200
        upload = staff.post("/instructor/cohorts/fall/invite", data={"csrf_token": csrf(form.text)},
                            files={"addresses": ("a.csv", b"email\nann@example.org\nnot-an-address\n")})
        assert upload.status_code == 200 and "Invited 1" in upload.text and "not-an-address" in upload.text
    world.deliver()
    [mail] = world.smtp.mailbox.to("ann@example.org")
    assert "Fall cohort" in mail["Subject"] and "Grace" in mail["Subject"]
    path = world.last_link("ann@example.org", "/invite/")
    with world.client() as ann:
        page = ann.get(path)
        assert page.status_code == 200 and "Fall cohort" in page.text
        joined = ann.post(path, data={"csrf_token": csrf(page.text), "name": "Ann", "password": PASSWORD},
                          follow_redirects=False)
        assert joined.status_code == 303 and ann.get("/wallet").status_code == 200
        assert ann.get(path).status_code == 404
    with world.ctx.store.session() as session:
        member = session.scalars(select(CohortMember).where(CohortMember.cohort_id == "fall")).one()
        assert member.email == "ann@example.org" and member.name == "Ann"


def test_change_email_notifications_and_delete_account(home: Path, db_url: str, smtp: SmtpServer) -> None:
    world = World(db_url, smtp)
    add_user(world.ctx, email="old@example.org", name="Olga", role="learner", password=PASSWORD)
    with world.client() as client:
        assert sign_in(client, "old@example.org", PASSWORD) == 303
        page = client.get("/account/settings")
        assert page.status_code == 200 and "checked" in page.text
        token = csrf(page.text)
        off = client.post("/account/notifications", data={"csrf_token": token})
        section = off.text.split("Notifications")[1].split("</form>")[0]
        assert off.status_code == 200 and "checked" not in section
        wrong = client.post("/account/email", data={"csrf_token": token, "email": "new@example.org",
                                                    "password": "not the password"})
        assert wrong.status_code == 401
        asked = client.post("/account/email", data={"csrf_token": token, "email": "new@example.org",
                                                    "password": PASSWORD})
        assert asked.status_code == 200 and "confirmation link" in asked.text
        world.deliver()
        path = world.last_link("new@example.org", "/account/email/")
        assert client.post(path, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with world.client() as fresh:
        assert sign_in(fresh, "old@example.org", PASSWORD) == 401
        assert sign_in(fresh, "new@example.org", PASSWORD) == 303
        token = csrf(fresh.get("/account/settings").text)
        refused = fresh.post("/account/delete", data={"csrf_token": token, "password": PASSWORD})
        assert refused.status_code == 400
        gone = fresh.post("/account/delete", data={"csrf_token": token, "password": PASSWORD,
                                                   "confirm": "DELETE"}, follow_redirects=False)
        assert gone.status_code == 303
        assert fresh.get("/wallet", follow_redirects=False).status_code in (303, 401)
    with world.client() as later:
        assert sign_in(later, "new@example.org", PASSWORD) == 401
    with world.ctx.store.session() as session:
        assert session.scalars(select(User).where(User.email.in_(["old@example.org", "new@example.org"]))
                               ).first() is None
        assert session.scalars(select(Learner).where(Learner.email == "new@example.org")).first() is None


def test_cohort_invite_command(home: Path, db_url: str, smtp: SmtpServer, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nbcred.cli import app

    world = World(db_url, smtp)
    with world.ctx.store.session() as session:
        session.add(Cohort(id="spring", title="Spring cohort"))
    addresses = tmp_path / "emails.csv"
    addresses.write_text("bo@example.org\ncy@example.org\nbo@example.org\n", encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["cohort", "invite", "spring", str(addresses), "--inviter", "Grace",
                               "--db", db_url])
    assert done.exit_code == 0 and "invited 2" in done.output, done.output
    missing = runner.invoke(app, ["cohort", "invite", "autumn", str(addresses), "--db", db_url])
    assert missing.exit_code == 2 and "no cohort" in missing.output
    world.deliver()
    assert sorted(m["To"] for m in world.smtp.mailbox.messages) == ["bo@example.org", "cy@example.org"]
