"""The demo actor: plays the executors, the demo operator and the citizens in ``demo``.

Not part of the product: only the ``demo`` command starts it (``--no-actor`` leaves it out). It
acts as a real user would: the executors and the operator through ``Workflow`` (the same calls
the screens make) and the incident page's content (``QueryService``, the review aid's flags
included); the citizens through the emulator's own write endpoint (``POST /_emulator/comments``).
What follows is the product's own: the ``publish`` job posts the approved answers into the
emulator's threads, the ``followup`` job reads the citizens' replies and reopens or closes.

Each round (every ``--interval`` seconds):

1. the demo operator reviews the answers waiting for review: one with review flags goes back
   for rework with the flags' reasons as the comment, the others are approved;
2. the demo executors accept a few newly assigned incidents and answer them (every fourth
   first answer is a formal brush-off, so the review aid has something to send back), and
   answer again what came back for rework; after ``max_incidents`` (24) the rest of the queue
   is left to the person trying the demo;
3. under each newly published answer the citizen replies: «не решено» under the first one and
   every third after it, thanks under the others.

Everything it does is logged as "demo actor: …".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.accounts import AccountError, AccountService
from app.permissions import Actor, Role
from app.publish import reply_target
from app.queries import QueryService
from app.workflow import Workflow, WorkflowError
from classifier.regions import Region
from storage.enums import IncidentStatus, Network
from storage.repositories import ConcurrentUpdate
from storage.repositories.followups import FollowupRepository, WatchedThread
from storage.repositories.users import UserRepository
from web.contracts import IncidentDetail, Viewer

__all__ = ["ActorReport", "ActorSettings", "DemoActor", "post_json"]

log = logging.getLogger(__name__)

#: Russian month names in the genitive, for dates in the answers' text.
_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
BRUSH_OFF = "Ваше обращение рассмотрено. Информация принята к сведению."
UNRESOLVED = "Ничего не сделано, проблема не решена! Всё как было, приезжайте и посмотрите."
THANKS = "Спасибо, всё сделали, проблема решена!"
#: The author of a citizen's reply when the thread was opened by a community's post.
DEMO_CITIZEN_ID = 100_000_001


@dataclass(frozen=True, slots=True)
class ActorSettings:
    """How much the actor does each round."""

    answers_per_round: int = 3
    max_incidents: int = 24  # then the rest of the queue is left to the person trying the demo
    brush_off_every: int = 4  # every n-th first answer is a brush-off (0: never)
    reopen_every: int = 3  # the first published answer and every n-th after it get «не решено»


@dataclass
class ActorReport:
    """What one round did, by incident number."""

    answered: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    sent_back: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    thanked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return the round in one line."""
        parts = [
            f"{name} {', '.join(numbers)}"
            for name, numbers in (
                ("answered", self.answered),
                ("approved", self.approved),
                ("sent for rework", self.sent_back),
                ("citizen replied «не решено» under", self.unresolved),
                ("citizen thanked under", self.thanked),
            )
            if numbers
        ]
        if self.errors:
            parts.append(f"{len(self.errors)} skipped ({'; '.join(self.errors[:3])})")
        return "; ".join(parts)


def post_json(url: str, body: Mapping[str, Any], timeout: float = 5.0) -> Any:
    """POST JSON to the emulator's loopback endpoint and return the decoded answer."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        return json.loads(answer.read().decode("utf-8"))


class DemoActor:
    """The executors, the operator and the citizens of the demo, one round at a time."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        workflow: Workflow,
        emulator_url: str,
        clock: Callable[[], datetime],
        region: Region | None = None,
        settings: ActorSettings | None = None,
        post: Callable[[str, Mapping[str, Any]], Any] = post_json,
    ) -> None:
        """Act on ``sessions`` through ``workflow``; citizens write to ``emulator_url``."""
        self._sessions = sessions
        self._workflow = workflow
        self._emulator = emulator_url.rstrip("/")
        self._clock = clock
        self._settings = settings or ActorSettings()
        self._post = post
        self._queries = QueryService(
            sessionmaker=sessions, routing=lambda: workflow.routing, clock=clock, region=region
        )
        self._accounts: AccountService | None = None
        self._users: dict[str, int] = {}
        self._answered: set[int] = set()
        self._replied: set[int] = set()
        self._first_answers = 0
        self._published_seen = 0
        self._told_done = False

    # ------------------------------------------------------------------ who acts

    def _user_id(self, login: str) -> int | None:
        if login not in self._users:
            with self._sessions() as session:
                for user in UserRepository(session).all():
                    self._users[user.login] = user.id
        return self._users.get(login)

    def _operator(self) -> Actor:
        with self._sessions() as session:
            users = UserRepository(session).all()
        operator = next((u for u in users if u.role.value == "operator" and u.active), None)
        return Actor(Role.OPERATOR, user_id=operator.id if operator else None)

    def _executor(self, code: str) -> Actor:
        """The demo employee of an executor (created at its first answer, no one signs in)."""
        login = f"demo-{code}"[:64]
        user_id = self._user_id(login)
        if user_id is None:
            if self._accounts is None:
                self._accounts = AccountService(sessionmaker=self._sessions, clock=self._clock)
            try:
                self._accounts.add_user(
                    login,
                    role="executor",
                    password=secrets.token_urlsafe(12),
                    name=f"Демо-исполнитель ({code})",
                    executor=code,
                )
            except AccountError as err:
                log.warning("demo actor: no demo user for %s: %s", code, err)
            self._users.pop(login, None)
            user_id = self._user_id(login)
        return Actor(Role.EXECUTOR, user_id=user_id, executor_code=code)

    @staticmethod
    def _viewer(actor: Actor, login: str) -> Viewer:
        return Viewer(
            user_id=actor.user_id or 0,
            login=login,
            name=login,
            role=actor.role.value,
            executor_code=actor.executor_code,
        )

    # ------------------------------------------------------------------ one round

    def step(self) -> ActorReport:
        """Play one round: review, answer, reply (see the module's docstring)."""
        report = ActorReport()
        operator = self._operator()
        visible = self._workflow.visible(operator)
        for incident in visible:
            if incident.status is IncidentStatus.ANSWERED:
                self._guarded(report, incident.public_number, self._review, incident.id, operator)
        fresh = 0
        for incident in visible:
            if incident.executor_code is None:
                continue
            if incident.status is IncidentStatus.REWORK:
                if self._guarded(report, incident.public_number, self._answer, incident.id, False):
                    report.answered.append(incident.public_number)
            elif (
                incident.status is IncidentStatus.ASSIGNED
                and incident.id not in self._answered
                and fresh < self._settings.answers_per_round
                and len(self._answered) < self._settings.max_incidents
                and self._publishable(incident.id, operator)
            ):
                self._first_answers += 1
                every = self._settings.brush_off_every
                brush_off = every > 0 and self._first_answers % every == 0
                if self._guarded(
                    report, incident.public_number, self._answer, incident.id, brush_off
                ):
                    report.answered.append(incident.public_number)
                    fresh += 1
        self._reply_as_citizens(report)
        if report.summary():
            log.info("demo actor: %s", report.summary())
        if len(self._answered) >= self._settings.max_incidents and not self._told_done:
            self._told_done = True
            log.info(
                "demo actor: %d incidents answered; the others are left to you (it still "
                "answers what comes back for rework and replies under what gets published)",
                len(self._answered),
            )
        return report

    @staticmethod
    def _guarded(report: ActorReport, number: str, func: Callable[..., Any], *args: Any) -> bool:
        """Run one action; someone else moving the incident meanwhile only skips it."""
        try:
            func(*args, report)
        except (WorkflowError, ConcurrentUpdate) as err:
            report.errors.append(f"{number}: {err}")
            return False
        return True

    def _detail(self, incident_id: int, actor: Actor, login: str) -> IncidentDetail:
        return self._queries.incident_sync(self._viewer(actor, login), incident_id)

    def _publishable(self, incident_id: int, operator: Actor) -> bool:
        """Only incidents opened by a VK message: the publish job answers into VK threads."""
        detail = self._detail(incident_id, operator, "operator")
        return bool(detail.messages) and detail.messages[0].network == Network.VK.value

    def _review(self, incident_id: int, operator: Actor, report: ActorReport) -> None:
        detail = self._detail(incident_id, operator, "operator")
        pending = [a for a in detail.answers if a.kind == "final" and a.status == "submitted"]
        flags = pending[-1].review_flags if pending else ()
        incident = self._workflow.get(incident_id, operator)
        if flags:
            reasons = " ".join(f.reason for f in flags)
            self._workflow.send_for_rework(incident, operator, f"Демо-оператор: {reasons}")
            report.sent_back.append(incident.public_number)
        else:
            self._workflow.approve(incident, operator)
            report.approved.append(incident.public_number)

    def _answer(self, incident_id: int, brush_off: bool, report: ActorReport) -> None:
        incident = self._workflow.get(incident_id, self._operator())
        if incident.executor_code is None:
            raise WorkflowError(f"incident {incident.public_number} has no executor to answer")
        executor = self._executor(incident.executor_code)
        if incident.status is IncidentStatus.ASSIGNED:
            incident = self._workflow.accept(incident, executor)
        self._answered.add(incident_id)
        text = BRUSH_OFF if brush_off else self._good_answer(incident_id, executor)
        self._workflow.answer(incident, executor, text)

    def _good_answer(self, incident_id: int, executor: Actor) -> str:
        detail = self._detail(incident_id, executor, f"demo-{executor.executor_code}")
        now = self._clock()
        quote = " ".join(detail.summary.split())
        if len(quote) > 140:
            quote = quote[:139].rstrip() + "…"
        return (
            f"Сообщаем, что {now.day} {_MONTHS[now.month - 1]} по обращению «{quote}» "
            "специалисты выехали на место и устранили неисправность. Фотоотчёт прилагается."
        )

    # ------------------------------------------------------------------ the citizens

    def _threads(self) -> list[WatchedThread]:
        with self._sessions() as session:
            return FollowupRepository(session).published()

    def _reply_as_citizens(self, report: ActorReport) -> None:
        for thread in self._threads():
            if thread.answer_id in self._replied or thread.network is not Network.VK:
                continue
            target = reply_target(thread.message_external_id, thread.message_kind)
            if target is None or thread.external_reply_id is None:
                continue
            owner_id, post_id, _ = target
            self._replied.add(thread.answer_id)
            every = max(self._settings.reopen_every, 1)
            unresolved = self._published_seen % every == 0
            self._published_seen += 1
            # The citizen who wrote (a person: a community's id is negative). Without one a
            # passer-by may say «не решено» (anyone's counts), but a stranger's thanks would not
            # close the incident (followup.thanks_from_citizen_only), so none are posted.
            people = sorted(c for c in thread.citizen_ids if c.isdigit())
            if not people and not unresolved:
                continue
            citizen = int(people[0]) if people else DEMO_CITIZEN_ID
            body: dict[str, Any] = {
                "group_id": -owner_id,
                "post_id": post_id,
                "text": UNRESOLVED if unresolved else THANKS,
                "reply_to_comment": int(thread.external_reply_id),
                "from_id": citizen,
                # VK dates are whole seconds: never before the publication the follow-up
                # job counts from.
                "date": max(
                    int(self._clock().timestamp()), math.ceil(thread.published_at.timestamp())
                ),
            }
            number = self._number(thread.incident_id)
            try:
                self._post(f"{self._emulator}/_emulator/comments", body)
            except (OSError, ValueError) as err:
                report.errors.append(f"{number}: the emulator refused the reply: {err}")
                continue
            (report.unresolved if unresolved else report.thanked).append(number)

    def _number(self, incident_id: int) -> str:
        return self._workflow.get(incident_id, self._operator()).public_number

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Play a round every ``interval`` seconds until ``stop`` is set."""
        log.info("demo actor: playing the executors, the operator and the citizens")
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.step)
            except Exception:  # the demo goes on: the next round tries again
                log.exception("demo actor: the round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
