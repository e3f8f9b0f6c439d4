"""Reading meeting files in worker processes gives exactly what reading them in turn gives.

The loader's answer (meetings, warnings, and every problem in its order) must not depend on how many
processes read the files; `loading.parallel` decides when processes are used at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from reconciler.config import Config, Defaults
from reconciler.errors import InputError
from reconciler.loading import load_meetings
from reconciler.loading.parallel import MIN_PER_WORKER, available_workers, map_in_order, worker_count

# The tests fork on purpose while the suite's emulator threads may be alive; what the children run
# touches no lock those threads hold (Python 3.12+ warns about any such fork).
pytestmark = pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")

ORGANIZERS = ("lead@contoso.com", "ops@contoso.com", "team@contoso.com")


def meeting(index: int) -> str:
    """A valid meeting file; every third is a weekly series, every fifth has a hidden character."""
    subject = f"Meeting {index}" + ("\u200b" if index % 5 == 0 else "")
    text = (
        f"id: m{index:04d}\norganizer: {ORGANIZERS[index % 3]}\nsubject: {subject}\n"
        f"start: 2027-03-{1 + index % 28:02d}T{9 + index % 8:02d}:00\nduration: 30m\n"
        f"attendees:\n  required: [user{index}@contoso.com]\n"
    )
    if index % 3 == 0:
        weekday = date(2027, 3, 1 + index % 28).strftime("%A").lower()
        text += f"recurrence:\n  every: week\n  on: [{weekday}]\n  count: 10\n"
    return text


def repository(tmp_path: Path, files: int, *, broken: bool) -> Config:
    """`files` meeting files in three folders; `broken`: some with problems, one id declared twice."""
    for index in range(files):
        path = tmp_path / "meetings" / f"team{index % 3}" / f"m{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = meeting(index)
        if broken and index % 97 == 0:
            text = text.replace("duration: 30m", "duration: soon")
        if broken and index % 131 == 0:
            text = text.replace("attendees:\n", "attendees:\n  extra: true\n")
        path.write_text(text, encoding="utf-8")
    if broken:
        (tmp_path / "meetings" / "team0" / "twin.yaml").write_text(meeting(7), encoding="utf-8")
        (tmp_path / "meetings" / "team1" / "syntax.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (tmp_path / "meetings" / "notes.txt").write_text("not a meeting\n", encoding="utf-8")
    return Config(root=tmp_path, meetings_dir=tmp_path / "meetings", defaults=Defaults(timezone="Europe/Berlin"))


def test_workers_read_the_same_meetings_and_warnings(tmp_path: Path) -> None:
    config = repository(tmp_path, 600, broken=False)
    in_turn = load_meetings(config, workers=1)
    assert len(in_turn.meetings) == 600
    assert len(in_turn.warnings) == 1 + 120  # notes.txt, and each hidden character
    for workers in (2, 3):
        assert load_meetings(config, workers=workers) == in_turn


def test_workers_report_the_same_problems_in_the_same_order(tmp_path: Path) -> None:
    config = repository(tmp_path, 600, broken=True)
    with pytest.raises(InputError) as in_turn:
        load_meetings(config, workers=1)
    said = [str(d) for d in in_turn.value.diagnostics]
    assert any("duplicate meeting id" in line for line in said)
    assert any(line.startswith("meetings/team1/syntax.yaml:") for line in said)
    assert len(said) > 10
    with pytest.raises(InputError) as in_workers:
        load_meetings(config, workers=3)
    assert [str(d) for d in in_workers.value.diagnostics] == said


def test_results_keep_the_order_of_the_inputs() -> None:
    assert map_in_order(lambda x: x * x, range(1001), workers=3) == [x * x for x in range(1001)]
    assert map_in_order(lambda x: x, [], workers=3) == []


def test_an_exception_in_a_worker_is_raised_to_the_caller() -> None:
    def fails_on_seven(x: int) -> int:
        if x == 700:
            raise ValueError("seven hundred")
        return x

    with pytest.raises(ValueError, match="seven hundred"):
        map_in_order(fails_on_seven, range(1000), workers=2)


def test_small_inputs_and_threaded_callers_are_read_in_turn() -> None:
    assert worker_count(MIN_PER_WORKER * 2 - 1, cpus=8) == 1
    assert worker_count(MIN_PER_WORKER * 100, cpus=1) == 1
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert worker_count(MIN_PER_WORKER * 100, cpus=8) == 1
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(sys.platform != "linux" or available_workers() < 2, reason="needs Linux and two CPUs")
def test_a_large_repository_is_read_by_several_processes() -> None:
    """In a fresh single-threaded process (as the CLI is), many inputs go to several workers."""
    program = (
        "import os\nfrom reconciler.loading.parallel import map_in_order\n"
        "print(len(set(map_in_order(lambda _: os.getpid(), range(2000))) - {os.getpid()}))"
    )
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 2
