"""The loader's boot decision (firmware/main.py decide), exhaustively: whatever happens on each boot, a
pending slot runs at most N trial boots, then the previous one comes back with the reason; a confirmed
slot always runs; the try is counted before the slot runs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firmware.main import decide, slot_dir


def test_first_boot_runs_the_factory_application():
    slot, trial, s = decide({})
    assert (slot, trial, s["boots"]) == ("factory", False, 1)


def test_pending_slot_gets_n_tries_then_rolls_back_with_the_reason():
    s = {"active": "a", "pending": "b", "tries": 0}
    runs = []
    for _ in range(5):
        slot, trial, s = decide(s, 3)
        runs.append((slot, trial))
        if slot == "b":
            s["trial_error"] = "trial boot %d raised X" % s["tries"]
    assert runs == [("b", True)] * 3 + [("a", False)] * 2
    assert s["state"] == "rolled back" and s["rolled_back_from"] == "b" and s["pending"] == ""
    assert "trial boot 3 raised X" in s["reason"] and "failed 3 trial boots" in s["reason"]


@given(outcomes=st.lists(st.sampled_from(["ok", "fail", "cut"]), max_size=12),
       max_tries=st.integers(1, 5), active=st.sampled_from(["factory", "a", "b"]))
def test_any_boot_history_ends_in_a_complete_slot(outcomes, max_tries, active):
    pending = "b" if active != "b" else "a"
    s = {"active": active, "pending": pending, "tries": 0, "floor": 1}
    trials = 0
    for what in outcomes:
        slot, trial, s = decide(s, max_tries)
        assert slot in (active, pending)
        assert s["tries"] <= max_tries
        if trial:
            trials += 1
            assert slot == pending and s["tries"] == trials
            if what == "ok":      # the application confirms itself (firmware/ota/service.py confirm)
                s.update(active=pending, pending="", tries=0, state="confirmed")
                active, pending = pending, ""
        else:
            assert slot == s["active"] == active
    assert trials <= max_tries


def test_slot_folders():
    assert slot_dir("/flash", "a") == "/flash/app/a" and slot_dir("", "b") == "app/b"
    assert slot_dir("/flash", "factory") is None
