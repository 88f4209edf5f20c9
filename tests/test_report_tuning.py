"""The report's 'Tuning on the dev split' section renders what results.json holds."""

from __future__ import annotations

from shouldtune.report.tuning import tuning_section

SEARCH = {
    "candidates": 8, "dev_rows": 16, "row_evaluations": 78, "seconds": 41.2,
    "chosen_label": "k = 8, selection = random, instruction = task", "note": "",
    "table": [{"label": "k = 8, selection = random, instruction = task", "dev_score": 0.5,
               "dev_rows": 16, "rounds": 3, "chosen": True},
              {"label": "k = 4, selection = random, instruction = task", "dev_score": 0.25,
               "dev_rows": 16, "rounds": 3, "chosen": False}],
}  # fmt: skip


def test_the_section_shows_searches_sweeps_labels_and_shapes():
    results = {
        "strategies": [
            {"name": "few_shot", "details": {"search": SEARCH, "label_answers": {
                "ranked": 40, "free_outside_labels": 22, "free_checked": 40}}},
            {"name": "lora", "details": {"learning_rate_chosen": 0.009, "dev_examples": 16,
                                         "seconds": {"lr_sweep": 166.0},
                                         "lr_sweep": [{"steps": 6}, {"steps": 6}]}},
            {"name": "zero_shot", "details": {"output_shape": {"constrained": True,
                                                               "invalid": 0, "of": 30}}},
            {"name": "baseline", "details": {}},
        ]
    }  # fmt: skip
    section = tuning_section(results)
    assert [r["name"] for r in section["rows"]] == ["few_shot", "lora"]
    few, lora = section["rows"]
    assert (few["candidates"], few["work"], few["seconds"]) == ("8", "78 dev answers", "41.2")
    assert lora["work"] == "12 training steps" and lora["chosen"] == "learning rate 0.009"
    assert section["searches"][0]["rows"][0]["chosen"] is True
    assert section["labels"] == [{"name": "few_shot", "ranked": "40", "outside": "22 of 40"}]
    assert section["shapes"] == [{"name": "zero_shot", "constrained": "yes", "invalid": "0 of 30"}]


def test_nothing_tuned_no_section():
    assert tuning_section({"strategies": [{"name": "baseline", "details": {}}]}) is None
