"""The per-recipient views of a user's frame are the window's tables, masks kept apart.

Two recipients whose addresses mask alike (``j***@gmail.com``) are two people: over a
masked frame the views count them apart by its recipient key, as over the raw frame.
"""
from __future__ import annotations

import pandas as pd

from mailkit_analysis.analysis.recipients import NO_ADDRESS, addresses_to_fix, affected_recipients
from mailkit_analysis.masking import mask_frame
from mailkit_analysis.prague_time import PRAGUE


def _frame() -> pd.DataFrame:
    rows = [
        ("jana@gmail.com", 2, 100, "2024-03-04 10:00"),
        ("jana@gmail.com", 6, 101, "2024-03-05 10:00"),
        ("josef@gmail.com", 2, 100, "2024-03-04 10:01"),   # masks like jana
        ("petr@gmial.com", 6, 100, "2024-03-04 10:02"),    # a typo domain, code 6
        (None, 3, 100, "2024-03-04 10:03"),
        ("", 3, 101, "2024-03-05 10:03"),
    ]
    return pd.DataFrame({
        "request_id": [1 if s == 100 else 2 for _, _, s, _ in rows],
        "id_send": [s for _, _, s, _ in rows],
        "email": pd.array([e for e, _, _, _ in rows], dtype="string"),
        "error_code": [c for _, c, _, _ in rows],
        "date": [pd.Timestamp(t, tz=PRAGUE) for _, _, _, t in rows],
        "campaign_id": 10,
    })


def test_affected_recipients_by_hand_raw_and_masked():
    raw = affected_recipients(_frame()).set_index("email")
    assert raw.loc["jana@gmail.com", ["error_codes", "rows", "sends"]].tolist() == ["2, 6", 2, 2]
    assert raw.loc[NO_ADDRESS, ["error_codes", "rows", "sends"]].tolist() == ["3", 2, 2]
    assert len(raw) == 4 and raw.attrs["total"] == 4
    masked = affected_recipients(mask_frame(_frame()))
    # jana and josef share a mask and stay two rows; nobody is lost or merged.
    assert sorted(masked["rows"].tolist()) == sorted(raw["rows"].tolist()) == [1, 1, 2, 2]
    assert (masked["email"] == "j***@gmail.com").sum() == 2
    assert masked.attrs["total"] == 4


def test_addresses_to_fix_keeps_masks_apart_and_finds_the_typo():
    raw = addresses_to_fix(_frame()).set_index("email")
    assert set(raw.index) == {"jana@gmail.com", "josef@gmail.com", "petr@gmial.com"}
    assert raw.loc["petr@gmial.com", ["suggested_domain", "suggested_email"]].tolist() == [
        "gmail.com", "petr@gmail.com"]
    masked = addresses_to_fix(mask_frame(_frame()))
    assert len(masked) == 3 and (masked["email"] == "j***@gmail.com").sum() == 2
    assert masked["email"].str.contains("***", regex=False).all()
