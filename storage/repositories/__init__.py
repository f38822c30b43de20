"""Repositories: plain dataclasses in and out, ORM rows kept inside storage/."""

from __future__ import annotations

from storage.repositories.answers import AnswerRecord, AnswerRepository
from storage.repositories.assignments import (
    AssignmentRecord,
    AssignmentRepository,
    clock_from_json,
    clock_to_json,
)
from storage.repositories.errors import ConcurrentUpdate, NotFound, RepositoryError
from storage.repositories.events import EventRecord, EventRepository
from storage.repositories.executors import ExecutorRecord, ExecutorRepository
from storage.repositories.incidents import IncidentRecord, IncidentRepository, NewIncident
from storage.repositories.users import UserRecord, UserRepository

__all__ = [
    "AnswerRecord",
    "AnswerRepository",
    "AssignmentRecord",
    "AssignmentRepository",
    "ConcurrentUpdate",
    "EventRecord",
    "EventRepository",
    "ExecutorRecord",
    "ExecutorRepository",
    "IncidentRecord",
    "IncidentRepository",
    "NewIncident",
    "NotFound",
    "RepositoryError",
    "UserRecord",
    "UserRepository",
    "clock_from_json",
    "clock_to_json",
]
