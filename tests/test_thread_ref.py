"""Which thread: one value, its Mirakl id on its marketplace."""

from __future__ import annotations

from store.threads import ThreadRef
from ui.workspace import parse_ref


def test_the_same_id_on_two_marketplaces_is_two_threads() -> None:
    here, there = ThreadRef("t-1", "default"), ThreadRef("t-1", "fnac")
    assert here != there
    # Their one string (lock, queue lane, checkpoint): the default marketplace's stays bare.
    assert (here.key, there.key) == ("t-1", "fnac/t-1")
    thread_id, marketplace = there
    assert (thread_id, marketplace) == ("t-1", "fnac")


def test_the_dashboard_names_a_thread_as_its_key() -> None:
    assert parse_ref(" t-1 ") == ThreadRef("t-1", "default")
    assert parse_ref("fnac/t-1") == ThreadRef("t-1", "fnac")
    assert parse_ref(ThreadRef("t-1", "fnac").key) == ThreadRef("t-1", "fnac")
    assert parse_ref("").id == ""
