"""How `tick` and `scheduler` say what scheduled work did (issue 19): one line per
event it recorded (account, instant, verb, detail) and a total; with `--json` one object
of kind `tick` listing them under `ran`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.calendar import format_instant
from projections.scheduled_work import WorkDone


def work_json(to: datetime, pieces: int, done: list[WorkDone]) -> dict[str, Any]:
    return {
        "kind": "tick",
        "as_of": format_instant(to),
        "ran": [{k: v for k, v in item.items() if k != "detail" or v} for item in done],
        "total": len(done),
        "pieces": pieces,
        "accounts": len({item["account"] for item in done}),
    }


def work_text(to: datetime, pieces: int, done: list[WorkDone]) -> list[str]:
    """`ran 2 piece(s) of scheduled work up to ...`, the lines, the total."""
    lines = [f"ran {pieces} piece(s) of scheduled work up to {format_instant(to)}"]
    width = max((len(item["account"]) for item in done), default=0)
    for item in done:
        line = f"  {item['account']:<{width}}  {item['at'] or '-':<20}  {item['what']}"
        if item["detail"]:
            line += f" ({item['detail']})"
        lines.append(line)
    accounts = len({item["account"] for item in done})
    lines.append(f"total: {len(done)} event(s) on {accounts} account(s)")
    return lines
