"""What an entry folder of the stage store holds, and how it is checked: its files, their checksum, the shape of
its JSON, and a ``StageResult`` or ``FinalModel`` to and from them."""
from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.common.records import Decision, FinalModel, StageResult
from pipeline.store import disk

REQUIRED = ("description.json", "result.json")  # plus cv_results.csv (a stage) or model.keras (the final refit)
STAGE_FIELDS: dict[str, type | tuple[type, ...]] = {"stage": str, "winner": dict, "tuned": list, "frozen": dict, "candidates": int, "fits": int,
                "failed_fits": int, "seconds": (int, float), "mean_score": (int, float), "std_score": (int, float)}
FINAL_FIELDS: dict[str, type | tuple[type, ...]] = {"stage": str, "metric": str, "test_score": (int, float)}


def records(folder: Path) -> tuple[Any, Any]:
    return json.loads((folder / "description.json").read_text()), json.loads((folder / "result.json").read_text())


def malformed(description: Any, result: Any) -> str | None:
    """Why an entry's JSON, valid as JSON, is not what the store writes (a field missing or of another type)."""
    if not isinstance(description, dict) or not isinstance(result, dict):
        return "description.json or result.json is not an object"
    created = result.get("created")
    if not isinstance(created, str):
        return f"result.json: created is {created!r}, not a date"
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        return f"result.json: created is {created!r}, not a date"
    if when.tzinfo is None:  # the store writes UTC with its offset; an age cannot be told from a bare local time
        return f"result.json: created is {created!r}, a date without a time zone"
    fields = FINAL_FIELDS if result.get("stage") == "final" else STAGE_FIELDS
    for name, kind in fields.items():
        value = result.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"result.json: {name} is {value!r}, not {getattr(kind, '__name__', 'a number')}"
    return None


def checksum(folder: Path) -> str:
    """sha256 over every file of the entry (names and contents), the checksum file aside."""
    names = sorted(p.name for p in folder.iterdir() if p.name != "checksum")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise ValueError(f"{missing[0]} is missing")
    return disk.digest((name, (folder / name).read_bytes()) for name in names)


_NOT_STORED = ("cv_results", "reused", "pass_number", "key")


def read_stage(folder: Path) -> StageResult:
    record = json.loads((folder / "result.json").read_text())
    table = pd.read_csv(folder / "cv_results.csv")
    fields = [f for f in dataclasses.fields(StageResult) if f.name not in _NOT_STORED]
    values = {f.name: record[f.name] if f.default is dataclasses.MISSING else record.get(f.name, f.default) for f in fields}
    values.update({k: tuple(values[k]) for k in ("tuned", "skipped", "ties")})
    values["decision"] = Decision.from_record(values["decision"]) if isinstance(values["decision"], dict) else Decision()
    return StageResult(**values, cv_results=table, reused=True)


def write_stage(folder: Path, result: StageResult) -> dict[str, Any]:
    result.cv_results.to_csv(folder / "cv_results.csv", index=False)
    record = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name not in _NOT_STORED}
    return record | {"decision": dataclasses.asdict(result.decision)}


def read_final(folder: Path) -> FinalModel:
    record = json.loads((folder / "result.json").read_text())
    return FinalModel(record["metric"], record["test_score"], folder / "model.keras", reused=True)


def write_final(folder: Path, final: FinalModel) -> dict[str, Any]:
    shutil.copyfile(final.model_path, folder / "model.keras")
    return {"stage": "final", "metric": final.metric, "test_score": final.test_score}


