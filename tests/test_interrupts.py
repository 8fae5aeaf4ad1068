"""Ctrl-C during a teardown: deferred until the teardown is done; a second one stops it
and says what is left and how to delete it. The interrupt is injected with
``sys.settrace`` as a ``KeyboardInterrupt`` raised at a chosen call."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from _local import interactions
from personakit import local
from personakit.aws.session import Session
from personakit.personalize import teardown as td
from personakit.personalize.group import DatasetGroup


class CtrlC:
    """A ``KeyboardInterrupt`` raised when ``Teardown.<function>`` is next entered, once,
    through ``sys.settrace`` (a trace function that raises is switched off, as Python
    does)."""

    def __init__(self, function: str) -> None:
        self.code = getattr(td.Teardown, function).__code__
        self.fired = 0

    def tracer(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code is self.code and not self.fired:
            self.fired += 1
            raise KeyboardInterrupt
        return None

    def arm(self) -> None:
        self.previous = sys.gettrace()  # coverage's tracer, put back on disarm
        sys.settrace(self.tracer)

    def disarm(self) -> None:
        sys.settrace(getattr(self, "previous", None))


def left_in(session: Session) -> dict[str, list[Any]]:
    personalize = session.client("personalize")
    found = {
        "datasetGroups": personalize.list_dataset_groups()["datasetGroups"],
        "datasets": personalize.list_datasets()["datasets"],
        "schemas": personalize.list_schemas()["schemas"],
    }
    return {k: v for k, v in found.items() if v}


def test_a_ctrl_c_during_a_normal_exit_teardown_is_deferred_until_it_is_done(
    tmp_path: Path,
) -> None:
    with Session.local(tmp_path, min_state_s=0.01, progress=False) as session:
        ctrl_c = CtrlC("_wait_gone")

        def journey() -> None:
            try:
                with DatasetGroup.create(session, "ctrl-c") as group:
                    group.import_frame(interactions())
                    ctrl_c.arm()  # the block ends normally; its teardown gets the Ctrl-C
            finally:
                ctrl_c.disarm()

        with pytest.raises(KeyboardInterrupt):  # delivered once the teardown is done
            journey()
        assert ctrl_c.fired == 1
        assert left_in(session) == {}


def test_a_second_ctrl_c_stops_the_teardown_and_names_the_sweep_command(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with Session.local(tmp_path, min_state_s=0.01, progress=False) as session:
        group = DatasetGroup.create(session, "twice")
        group.import_frame(interactions())
        fired: list[str] = []
        wait_gone = td.Teardown._wait_gone

        def interrupted(self: Any, entry: Any) -> None:
            if len(fired) < 2:  # Ctrl-C, and Ctrl-C again
                fired.append(entry.arn)
                raise KeyboardInterrupt
            wait_gone(self, entry)

        with (
            caplog.at_level(logging.WARNING, logger="personakit"),
            pytest.MonkeyPatch.context() as patch,
        ):
            patch.setattr(td.Teardown, "_wait_gone", interrupted)
            with pytest.raises(KeyboardInterrupt):
                group.teardown()
        assert len(fired) == 2
        left = group._teardown.leftovers()
        assert left  # stopped: something is still there
        command = (  # a local session: the sweep opens its workspace (tests/cost runs it)
            f"personakit sweep --workspace {tmp_path} --bucket personakit-local "
            f"--run-id {session.run_id} --yes"
        )
        assert command in caplog.text
        assert command in capsys.readouterr().err
        assert any(e.arn in caplog.text for e in left)
        group.teardown()  # and the same teardown finishes the job later
        assert left_in(session) == {}


@pytest.mark.parametrize("line", ["self._local.depth = 1", "yield conn"])
def test_a_ctrl_c_inside_a_store_transaction_leaves_no_transaction_open(
    tmp_path: Path, line: str
) -> None:
    """A Ctrl-C at the lines right after ``BEGIN IMMEDIATE``: the next write works."""
    import inspect

    from personakit.local.store import Store

    source, first = inspect.getsourcelines(Store.tx.__wrapped__)  # type: ignore[attr-defined]
    begin = next(
        i for i, text in enumerate(source) if "BEGIN IMMEDIATE" in text and "execute" in text
    )
    target = first + next(i for i in range(begin, len(source)) if source[i].strip() == line)
    code = Store.tx.__wrapped__.__code__  # type: ignore[attr-defined]

    def local_tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno == target:
            raise KeyboardInterrupt
        return local_tracer

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local_tracer if frame.f_code is code else None

    store = Store(tmp_path / "ws")
    previous = sys.gettrace()
    try:
        sys.settrace(tracer)
        with pytest.raises(KeyboardInterrupt), store.tx() as conn:
            conn.execute("SELECT 1")
    finally:
        sys.settrace(previous)
    assert not store.conn().in_transaction
    with store.tx() as conn:  # "cannot start a transaction within a transaction" before
        conn.execute("SELECT 1")


def test_a_ctrl_c_between_a_delete_and_its_scheduling_does_not_strand_the_resource(
    tmp_path: Path,
) -> None:
    """DELETE PENDING committed, the step never scheduled: the engine restarts the walk."""
    import inspect
    import time

    from botocore.exceptions import ClientError

    from personakit.local.control import ControlPlane

    source, first = inspect.getsourcelines(ControlPlane.delete)
    target = first + next(i for i, text in enumerate(source) if "self.schedule(arn)" in text)

    def local_tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno == target:
            raise KeyboardInterrupt
        return local_tracer

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local_tracer if frame.f_code is ControlPlane.delete.__code__ else None

    with local.LocalEngine(tmp_path, min_state_s=0.01, recover_every_s=0.2) as engine:
        personalize = Session(engine, region="us-east-1").client("personalize")
        arn = personalize.create_dataset_group(name="stranded")["datasetGroupArn"]
        while (
            personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"]
            != "ACTIVE"
        ):
            time.sleep(0.02)
        previous = sys.gettrace()
        try:
            sys.settrace(tracer)
            with pytest.raises(KeyboardInterrupt):
                personalize.delete_dataset_group(datasetGroupArn=arn)
        finally:
            sys.settrace(previous)
        deadline = time.monotonic() + 30  # a functional wait: the walk must finish at all
        code = ""
        while not code and time.monotonic() < deadline:
            try:
                personalize.describe_dataset_group(datasetGroupArn=arn)
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
            time.sleep(0.05)
        assert code == "ResourceNotFoundException", "the dataset group stayed DELETE PENDING"
