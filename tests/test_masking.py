"""Address masking: one rule (mask_email) for single addresses, columns, free texts and frames."""
from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from mailkit_analysis.masking import (
    RECIPIENT_KEY,
    mask_addresses,
    mask_email,
    mask_frame,
    mask_text,
)

ODD = ["jana.novakova@gmail.com", "petr@@email.cz", "jan@novak@seznam.cz", "x@", "eva@post.cz"]


def test_texts_mask_each_address_as_mask_email_does():
    text = "bounced: " + "; ".join(ODD) + " (see <tomas@firma.cz>)"
    masked = mask_addresses(text)
    for address in ODD:
        assert mask_email(address) in masked
    assert "t***@firma.cz" in masked
    assert "novakova" not in masked and "novak@" not in masked and "tomas" not in masked
    assert mask_addresses("no address here") == "no address here"


def test_text_column_and_single_text_agree():
    texts = pd.Series(["to jan@x.cz", None, "plain", "to jan@x.cz"], dtype="string")
    out = mask_text(texts)
    assert out.dtype == "string" and out.isna().tolist() == [False, True, False, False]
    assert out.iloc[0] == out.iloc[3] == mask_addresses("to jan@x.cz") == "to j***@x.cz"


@given(local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=2, max_size=20),
       domain=st.sampled_from(["gmail.com", "seznam.cz", "firma.cz"]))
def test_no_local_part_survives_in_text(local, domain):
    masked = mask_addresses(f"550 {local}@{domain} unknown")
    assert masked == f"550 {local[0]}***@{domain} unknown"


def test_mask_frame_masks_addresses_and_texts_and_keeps_people_apart():
    frame = pd.DataFrame({
        "email": pd.Series(["jana@x.cz", "jiri@x.cz", "", "jana@x.cz"], dtype="string"),
        "info": pd.Series(["quota of jana@x.cz", None, "", "ok"], dtype="string"),
        "campaign_name": pd.Series(["for eva@y.cz", "b", "c", "d"], dtype="string"),
        "error_code": pd.Series([2, 2, 3, 2], dtype="Int64"),
    })
    out = mask_frame(frame)
    assert out["email"].tolist() == ["j***@x.cz", "j***@x.cz", "", "j***@x.cz"]
    assert out["info"].iloc[0] == "quota of j***@x.cz" and out["campaign_name"].iloc[0] == "for e***@y.cz"
    keys = out[RECIPIENT_KEY]
    assert keys.iloc[0] == keys.iloc[3] != keys.iloc[1] and pd.isna(keys.iloc[2])
    assert out["error_code"].equals(frame["error_code"])
    assert frame["email"].iloc[0] == "jana@x.cz"  # the input is untouched
