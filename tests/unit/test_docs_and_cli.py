"""The README, the CLI and the committed interaction model stay true to the code."""

from __future__ import annotations

import json
import re
import shutil

from skill import config
from skill.alexa.model import MODEL_PATH, build_model, check_model
from skill.cli import main
from skill.config import PROJECT_ROOT
from skill.core.routines import ROUTINES_DIR, load_library
from skill.core.steps import KINDS
from skill.core.timeline import expand

README = (PROJECT_ROOT / "README.md").read_text()
COMPLAINTS = json.loads((ROUTINES_DIR / "complaints.json").read_text())


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | `{default}` | {meaning} |" for name, (default, meaning) in config.DOCUMENTED.items()]
    return "\n".join(rows)


def kinds_table() -> str:
    def cues(rules) -> str:
        said = ["breath words, then tones"] if rules.breath_cues else []
        said += ["stroke tones"] if rules.strokes else []
        said += [f'"{rules.mid_cue}" (over 30 s)'] if rules.mid_cue else []
        said += ['"Ten more seconds.", "And release."'] if rules.countdown else []
        return "; ".join(said) or "end cue only"

    rows = ["| kind | screen label | timed by | default settle | cues in the timed part | fields |",
            "|---|---|---|---|---|---|"]
    rows += [f"| `{kind}` | {kind.label} | {r.timed_by or '-'} | {r.settle_seconds} s | {cues(r)} | "
             f"{', '.join(f'`{f}`' for f in r.fields) or '-'} |" for kind, r in KINDS.items()]
    return "\n".join(rows)


def test_the_readme_opens_with_exactly_the_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["./dev serve", "./dev test"]
    assert README.index("```bash") < README.index("\n## ")


def test_ci_runs_the_readmes_test_command_and_nothing_else():
    lines = [ln for ln in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines[-1] == "exec ./dev test"
    assert all(ln.startswith(("set ", "cd ")) for ln in lines[:-1])


def test_the_readme_documents_every_setting_with_its_default():
    section = README.split("<!-- settings-table")[1].split("<!-- /settings-table -->")[0]
    assert settings_table() in section, "regenerate the README table from config.DOCUMENTED"


def test_the_readme_documents_every_step_kind_from_the_table():
    section = README.split("<!-- step-kinds-table")[1].split("<!-- /step-kinds-table -->")[0]
    assert kinds_table() in section, "regenerate the README table from skill/core/steps.py KINDS"


def test_settings_defaults_match_the_documented_ones():
    assert config.from_env({}) == config.Settings()


def test_a_bad_setting_is_a_sentence_not_a_traceback(capsys):
    import os

    old = os.environ.get("TRIGGER_COACH_PORT")
    os.environ["TRIGGER_COACH_PORT"] = "eighty"
    try:
        assert main(["validate"]) == 1
    finally:
        if old is None:
            del os.environ["TRIGGER_COACH_PORT"]
        else:
            os.environ["TRIGGER_COACH_PORT"] = old
    assert "TRIGGER_COACH_PORT='eighty' is not a number" in capsys.readouterr().err


def test_the_committed_interaction_model_matches_the_routines():
    assert check_model(load_library()) is None


def test_the_model_drift_check_fails_when_a_routine_gains_a_synonym(tmp_path):
    routines = tmp_path / "routines"
    shutil.copytree(ROUTINES_DIR, routines)
    data = json.loads((routines / "calves.json").read_text())
    data["synonyms"].append("lower legs please")
    (routines / "calves.json").write_text(json.dumps(data))
    assert "does not match" in check_model(load_library([routines]))


def test_slot_values_carry_every_routine_id_name_and_synonym():
    library = load_library()
    types = build_model(library)["interactionModel"]["languageModel"]["types"]
    values = {v["id"]: v["name"] for v in next(t for t in types if t["name"] == "ROUTINE")["values"]}
    for routine in library.routines:
        assert values[routine.id] == {"value": routine.name, "synonyms": list(routine.synonyms)}
    assert json.loads(MODEL_PATH.read_text())["interactionModel"]["languageModel"]["invocationName"] == "trigger coach"


def test_validate_prints_a_one_line_summary_for_the_shipped_routines(capsys):
    assert main(["validate", str(ROUTINES_DIR)]) == 0
    routines, complaints = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"OK: \d+ routines, \d+ steps, about \d+ minutes of guidance\.", routines)
    assert complaints == f"OK: {len(COMPLAINTS['complaints'])} complaints and {len(COMPLAINTS['red_flags'])} " \
                         f"red flags in {ROUTINES_DIR / 'complaints.json'}."


def test_validate_reports_every_problem_with_file_and_pointer_and_exits_non_zero(tmp_path, capsys):
    data = json.loads((ROUTINES_DIR / "feet.json").read_text())
    data["steps"][0]["kind"] = "dance"
    data["safety"]["notes"] = data["safety"]["notes"][:1]
    (tmp_path / "feet.json").write_text(json.dumps(data))
    (tmp_path / "broken.json").write_text("{ nope")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'feet.json'}#/steps/0/kind: [schema]" in err
    assert f"{tmp_path / 'feet.json'}#/safety/notes: [schema]" in err
    assert f"{tmp_path / 'broken.json'}#/: [json] Malformed JSON at line 1, column 3" in err
    assert "Traceback" not in err


def test_preview_without_rendered_tracks_prints_an_estimated_script_with_sides_and_says_so(
        capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRIGGER_COACH_AUDIO_DIR", str(tmp_path))  # nothing rendered here
    assert main(["preview", "upper back"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Upper back — about ")
    assert "estimated at 2.3 words a second: not rendered" in out.splitlines()[0]
    tracks = expand(load_library().get("upper-back"))
    first = next(t for t in tracks if t.side == "right").text.split(".")[0]
    mirrored = next(t for t in tracks if t.side == "left").text.split(".")[0]
    assert re.search(rf"^\d\d:\d\d  right {re.escape(first)}", out, re.M)
    assert re.search(rf"^\d\d:\d\d  left  {re.escape(mirrored)}", out, re.M)
    assert re.search(r"^\d\d:\d\d  end$", out, re.M)
    settles = [t for t in tracks if t.settle_seconds]
    assert settles and all(f"settle {t.settle_seconds}s]" in out for t in settles)


def test_preview_of_the_quick_version_shows_only_its_tracks(capsys, monkeypatch, tmp_path):
    from skill.core.lengths import version

    monkeypatch.setenv("TRIGGER_COACH_AUDIO_DIR", str(tmp_path))
    assert main(["preview", "upper back", "--length", "quick"]) == 0
    out = capsys.readouterr().out
    quick = expand(version(load_library().get("upper-back"), "quick"))
    assert out.startswith(f"Quick upper back — about {round(sum(t.estimated_seconds for t in quick) / 60)} minutes "
                          f"({len(quick)} tracks)")
    assert len(re.findall(r"^\d\d:\d\d  ", out, re.M)) == len(quick) + 1  # and the end


def test_preview_of_an_unknown_routine_names_the_known_ones(capsys):
    assert main(["preview", "knees"]) == 1
    assert "No routine called 'knees'. Known routines: " in capsys.readouterr().err


def test_track_urls_follow_the_servers_own_address_until_a_public_url_is_set():
    assert config.Settings(port=8765).audio_base_url == "http://127.0.0.1:8765/audio/"
    env = {"TRIGGER_COACH_PUBLIC_URL": "https://abc.trycloudflare.com/"}
    assert config.from_env(env).audio_base_url == "https://abc.trycloudflare.com/audio/"
