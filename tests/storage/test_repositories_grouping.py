"""Grouping's tables: links with evidence, fingerprints, counters, tombstones, rebuild reads."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine

from collector.types import VkPost
from storage.db import make_sessionmaker
from storage.enums import IncidentStatus, Network, Priority
from storage.repositories import IncidentRepository, NewIncident
from storage.repositories.grouping import GroupingRepository, IncidentCounters
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_links_fingerprints_counters_and_what_a_rebuild_reads(engine: Engine) -> None:
    sm = make_sessionmaker(engine)
    with sm.begin() as s:
        source = SourceRepository(s).add(Network.VK, "-42")
        messages = MessageRepository(s)
        ids = [
            messages.upsert_post(
                source.id,
                VkPost(
                    owner_id=-42,
                    id=n,
                    from_id=100 + n,
                    date=NOW + dt.timedelta(minutes=n),
                    text=text,
                    views_count=50 * n,
                ),
                NOW,
            )
            for n, text in enumerate(
                ["Нет воды на Ленина 5", "Ленина 5 опять без воды", "Продам гараж"], start=1
            )
        ]
        incidents = IncidentRepository(s)
        water = incidents.create(
            NewIncident("2026-M1", title="Нет воды", topic_group="ЖКХ"), now=NOW
        )
        closed = incidents.create(NewIncident("2026-M2", title="Старое"), now=NOW)
        incidents.save_state(
            dataclasses.replace(closed, status=IncidentStatus.CLOSED),
            expected_version=closed.version,
            now=NOW,
        )
    with sm.begin() as s:
        g = GroupingRepository(s)
        for message_id, rule in zip(ids[:2], ["new-incident", "fingerprint-address"], strict=True):
            g.link(
                incident_id=water.id,
                message_id=message_id,
                grouping_version="g:1",
                evidence={"rule": rule},
                now=NOW,
            )
        assert (
            g.add_fingerprints(water.id, [("g:1:text:abc", "g:1"), ("g:1:addr:x", "g:1")], now=NOW)
            == 2
        )
        assert g.add_fingerprints(water.id, [("g:1:text:abc", "g:1")], now=NOW) == 0
        g.set_counters(water.id, IncidentCounters(2, 2, 150, Priority.HIGH))
        assert g.add_tombstone("g:1:text:spam", reason="спам", incident_id=None, now=NOW)
        assert not g.add_tombstone("g:1:text:spam", reason="спам", incident_id=None, now=NOW)
    with sm() as s:
        g = GroupingRepository(s)
        assert g.linked(ids) == {ids[0]: water.id, ids[1]: water.id}
        assert g.linked_incident_ids([water.id, closed.id]) == {water.id}
        assert g.counters(water.id) == IncidentCounters(2, 2, 150, Priority.HIGH)
        # Counters are not workflow state: the optimistic-locking version did not move.
        assert IncidentRepository(s).get(water.id).version == water.version
        assert [rule["rule"] for _key, rule in g.evidence(water.id)] == [
            "new-incident",
            "fingerprint-address",
        ]
        assert [i.id for i in g.open_incidents()] == [water.id]
        linked = g.linked_messages([water.id])
        assert [m.text for m in linked] == ["Нет воды на Ленина 5", "Ленина 5 опять без воды"]
        assert linked[1].views == 100
        assert {f.fingerprint for f in g.fingerprints([water.id])} == {"g:1:text:abc", "g:1:addr:x"}
        assert [t.fingerprint for t in g.tombstones()] == ["g:1:text:spam"]


def test_the_municipality_is_set_only_where_unknown(engine: Engine) -> None:
    sm = make_sessionmaker(engine)
    with sm.begin() as s:
        incidents = IncidentRepository(s)
        unknown = incidents.create(NewIncident("2026-M7", title="Чапаева 5: мусор"), now=NOW)
        known = incidents.create(
            NewIncident("2026-M8", title="Ленина 3", municipality_oktmo="33701000"), now=NOW
        )
    with sm.begin() as s:
        g = GroupingRepository(s)
        assert g.set_municipality_if_unknown(
            unknown.id, municipality="Слободской", municipality_oktmo="33713000"
        )
        assert not g.set_municipality_if_unknown(
            known.id, municipality="Слободской", municipality_oktmo="33713000"
        )
    with sm() as s:
        incidents = IncidentRepository(s)
        located = incidents.get(unknown.id)
        assert (located.municipality_oktmo, located.version) == ("33713000", unknown.version)
        assert incidents.municipality(unknown.id) == "Слободской"
        assert incidents.get(known.id).municipality_oktmo == "33701000"
