"""The targets are written once (model/evaluation/targets.py) and every miss is listed from them, by a command."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from model.evaluation.bench import TABLE
from model.evaluation.report import figures, missed_targets, model_card, summary
from model.evaluation.targets import TARGET, TARGETS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())


def test_every_target_is_judged_by_a_figure_of_the_bench():
    judged = {f.key for f in figures(RESULTS)}
    assert judged == set(TARGET), f"targets no figure judges: {set(TARGET) - judged}"
    assert len(TARGET) == len(TARGETS)  # no key twice


def test_a_figure_that_misses_its_target_is_listed_and_one_that_meets_it_is_not():
    res = copy.deepcopy(RESULTS)
    res["batch"]["long_clip_peak_mb"] = 1001  # 1 MB over
    assert any(line.startswith(TARGET["long_clip_peak"].what + ": 1001 MB") for line in missed_targets(res))
    res["batch"]["long_clip_peak_mb"] = 1000
    assert not any(line.startswith(TARGET["long_clip_peak"].what) for line in missed_targets(res))
    res["speed"]["torch"]["generate_s"] = 0.0524
    assert f"{TARGET['generate'].what}, PyTorch: 0.0524 s (target <= 0.02 s)" in missed_targets(res)
    res["teacher"]["realtime_factor"] = 615
    assert f"{TARGET['teacher_rtf'].what}: 615x real time (target >= 1000x real time)" in missed_targets(res)


def test_readme_and_model_card_are_the_bench_outputs_of_the_committed_results():
    """`python build.py bench --skip-model --skip-blender --skip-judge` leaves README and card as they are."""
    start, end = TABLE
    readme = (ROOT / "README.md").read_text()
    assert readme.split(start, 1)[1].split(end, 1)[0].strip() == summary(RESULTS).strip()
    card = (ROOT / "weights" / "model_card.md").read_text()
    assert card == model_card(RESULTS, ROOT / "weights")
    missed = card.split("## Targets missed\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert missed == [f"- {line}" for line in missed_targets(RESULTS)]


def test_the_readme_headline_emotion_is_what_a_new_voice_gets():
    start, end = TABLE
    table = (ROOT / "README.md").read_text().split(start, 1)[1].split(end, 1)[0]
    loco = next(f for f in figures(RESULTS) if f.key == "loco")
    assert f"| {TARGET['loco'].what} | {loco.value} % |" in table
    assert TARGET["uar"].what not in table  # Emo-DB's own test speakers: its corpus was heard in training
