"""Data API answers with junk in them: bad rows are skipped, never a crash (the network edge, parsed)."""

from __future__ import annotations

from readmodels.dataapi import holders_aggregate, trade_parse

TEAM = {"abbr": "BOS", "name": "Celtics", "record": "0-0", "logo": "", "probability": 60, "buyPrice": 61.0,
        "sellPrice": 59.0}


def test_holders_aggregate_per_wallet_and_skip_junk() -> None:
    labels = {"t1": ("YES", "Will BOS win?"), "t2": ("NO", "Will BOS win?")}
    good = [{"token": "t1", "holders": [{"proxyWallet": "0xa", "asset": "t1", "amount": 5.0, "name": "a"},
                                        {"proxyWallet": "0xb", "asset": "t1", "amount": 7}]},
            {"token": "t2", "holders": [{"proxyWallet": "0xa", "asset": "t2", "amount": 4.5}]}]
    junk = [None, "x", {"token": "t1", "holders": "nope"},
            {"token": "t1", "holders": [1, {"proxyWallet": 5, "asset": "t1", "amount": 1},
                                        {"proxyWallet": "0xc", "asset": "t1", "amount": "9"},
                                        {"proxyWallet": "0xd", "asset": "other-game", "amount": 99},
                                        {"proxyWallet": "0xe", "asset": "t1", "amount": True}]}]
    ranked = holders_aggregate([good, junk, {"error": "x"}], labels)
    assert [(h["wallet"], h["rank"], h["totalAmount"]) for h in ranked] == [("0xa", 1, 9.5), ("0xb", 2, 7.0)]
    assert [a["shortLabel"] for a in ranked[0]["assets"]] == ["YES", "NO"]


def test_trade_parse_maps_the_original_fields_and_rejects_junk() -> None:
    row = {"proxyWallet": "0xa", "side": "SELL", "size": 12.5, "price": 0.41, "timestamp": 1_767_225_600,
           "transactionHash": "0xtx", "outcome": "Celtics", "profileImage": "https://img"}
    ts, trade = trade_parse(row, TEAM, TEAM)  # type: ignore[misc, arg-type]
    assert ts == 1_767_225_600 and trade["time"] == "2026-01-01T00:00:00Z"
    assert (trade["type"], trade["amount"], trade["shares"], trade["price"]) == ("Sell", 5.12, 12.5, 41)
    assert trade["trader"] == "0xa" and trade["traderAvatar"] == "https://img"
    for bad in ({"size": "12.5"}, {"timestamp": "1767225600"}, {"timestamp": True}, {"transactionHash": None},
                {"price": None}):
        assert trade_parse({**row, **bad}, TEAM, TEAM) is None  # type: ignore[arg-type]
