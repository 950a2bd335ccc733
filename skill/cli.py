"""Run Trigger Coach from the command line: validate, preview, render, model, complaints, serve.

Each sub-command's docstring is its --help text. Core errors become one-line messages
on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from skill import config
from skill.content.complaints import complaints_path, load_complaints
from skill.core.complaints import EMERGENCY, ComplaintBook, offers
from skill.core.routines import Library, Routine, load_library
from skill.core.timeline import WORDS_PER_SECOND, Track, estimated_minutes, expand
from skill.text import en_US as speech

if TYPE_CHECKING:
    from skill.content.manifest import Manifest


class CliError(Exception):
    """A problem to report to the user in one sentence, exiting with status 1."""


def _mmss(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _library(settings: config.Settings) -> Library:
    library = load_library([settings.routines_dir])
    if library.problems:
        raise CliError(
            f"The routines in {settings.routines_dir} have {len(library.problems)} problem(s); "
            f"run 'trigger-coach validate {settings.routines_dir}' to see them."
        )
    return library


def _complaints(settings: config.Settings, library: Library) -> ComplaintBook:
    """Return the checked complaints file of the routines folder, or raise with how to see its problems."""
    book, problems = load_complaints(complaints_path(settings.routines_dir), library.routines)
    if problems:
        raise CliError(
            f"{complaints_path(settings.routines_dir)} has {len(problems)} problem(s); "
            f"run 'trigger-coach validate {settings.routines_dir}' to see them."
        )
    return book


def _pick(library: Library, wanted: str) -> Routine:
    routine = library.get(wanted) or library.find(wanted)
    if routine is None:
        known = ", ".join(r.id for r in library.routines)
        raise CliError(f"No routine called '{wanted}'. Known routines: {known}.")
    return routine


def cmd_validate(args: argparse.Namespace, settings: config.Settings) -> int:
    """Check routine files: schema, unique ids, synonyms, holds, sides, length, cues.

    Example: trigger-coach validate routines/
    """
    paths = args.paths or [settings.routines_dir]
    library = load_library(paths)
    problems = list(library.problems)
    books = []
    for folder in (Path(p) for p in paths):  # a folder's complaints file, when it has one
        if folder.is_dir() and (complaints_path(folder).exists() or folder == settings.routines_dir):
            book, found = load_complaints(complaints_path(folder), library.routines)
            books.append(book)
            problems += found
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    steps = sum(len(r.steps) for r in library.routines)
    minutes = sum(estimated_minutes(expand(r)) for r in library.routines)
    print(f"OK: {len(library.routines)} routines, {steps} steps, about {minutes:.0f} minutes of guidance.")
    for book in books:
        print(f"OK: {len(book.complaints)} complaints and {len(book.red_flags)} red flags in {book.source}.")
    return 0


def cmd_complaints(args: argparse.Namespace, settings: config.Settings) -> int:
    """List every complaint phrase with the routines it offers, then every red-flag phrase.

    The list is Markdown, ready to paste into a note.
    Example: trigger-coach complaints
    """
    library = _library(settings)
    book = _complaints(settings, library)
    available = [r.id for r in library.routines]
    for complaint in book.complaints:
        titles = " → ".join(library.get(r).title for r in offers(complaint, available))
        for phrase in complaint.phrases:
            print(f"- \"{phrase}\": {titles}")
    for flag in book.red_flags:
        advice = "call emergency services" if flag.urgency == EMERGENCY else "see a clinician promptly"
        print(f"- red flag ({flag.about}; {advice}, nothing starts): "
              + ", ".join(f'"{p}"' for p in flag.phrases))
    return 0


def _script_lines(tracks: Sequence[Track]) -> list[str]:
    """Return the estimated script: each track's text at its estimated start, with settles."""
    lines, clock = [], 0.0
    for track in tracks:
        side = track.side or "-"
        timed = f"{track.kind} {track.seconds}s" if track.seconds else f"{track.kind}"
        settle = f", settle {track.settle_seconds}s" if track.settle_seconds else ""
        lines.append(f"{_mmss(clock)}  {side:<5} {track.text}  [{timed}{settle}]")
        clock += track.estimated_seconds
    lines.append(f"{_mmss(clock)}  end")
    return lines


def _clock(seconds: float) -> str:
    tenths = round(seconds * 10)
    return f"{tenths // 600:02d}:{tenths % 600 / 10:04.1f}"


def _rendered_lines(tracks: Sequence[Track], manifest: Manifest) -> list[str]:
    """Return the rendered script: every spoken line, settle and wordless span at its real time."""
    lines, offset = [], 0.0
    for track, entry in zip(tracks, manifest.tracks, strict=True):
        side = track.side or "-"
        events = [(s.t, s.text) for s in entry.transcript]
        if entry.settle:
            events.append((entry.settle[0], f"~ settle: {entry.settle[1] - entry.settle[0]:.1f} s of quiet"))
        for start, end, what in entry.wordless:
            heard = "silence" if what == "silent" else "tones only"
            events.append((start, f"~ {end - start:.1f} s without words ({heard})"))
        label = f"  [{track.kind} {track.seconds}s]" if track.seconds else f"  [{track.kind}]"
        for k, (t, text) in enumerate(sorted(events)):
            lines.append(f"{_clock(offset + t)}  {side:<5} {text}{label if k == 0 else ''}")
        offset += entry.duration_ms / 1000
    lines.append(f"{_clock(offset)}  end")
    return lines


def _current_manifest(routine: Routine, tracks: Sequence[Track], settings: config.Settings) -> Manifest | None:
    """Return the routine's manifest if it was rendered from exactly these tracks, else None."""
    from skill.content.manifest import ManifestError, load_manifest
    from skill.render.layout import rendered_from

    try:
        manifest = load_manifest(routine.key, settings)
    except ManifestError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return None
    if manifest is None or not rendered_from([t.plan for t in manifest.tracks], tracks):
        return None
    return manifest


def cmd_preview(args: argparse.Namespace, settings: config.Settings) -> int:
    """Print a routine as a timed script, or with --audio write it as one MP3 to listen to.

    When the routine's tracks are rendered (its manifest matches the current steps) the
    script shows the real rendered times, with settle and wordless spans marked '~'; otherwise
    it estimates times from the words and says so.

    Example: trigger-coach preview upper-back
             trigger-coach preview upper-back --length quick
             trigger-coach preview "upper back" --audio upper-back.mp3
    """
    from skill.core.lengths import version

    routine = version(_pick(_library(settings), args.routine), getattr(args, "length", "full"))
    tracks = expand(routine)
    title = speech.length_title(routine.title, routine.length)
    if args.audio is None:
        manifest = _current_manifest(routine, tracks, settings)
        if manifest is None:
            print(f"{title} — about {estimated_minutes(tracks):.0f} minutes ({len(tracks)} tracks), "
                  f"estimated at {WORDS_PER_SECOND} words a second: not rendered for these steps yet, "
                  f"run 'trigger-coach render {routine.id}' for real times")
        else:
            print(f"{title} — {_clock(manifest.duration_ms / 1000)} rendered "
                  f"({len(tracks)} tracks, voice {manifest.voice})")
        print(f"Alexa says before the first track: {routine.safety.spoken}")
        lines = _script_lines(tracks) if manifest is None else _rendered_lines(tracks, manifest)
        print("\n".join(lines))
        return 0
    from skill.render import RenderError, VoiceError, render_preview  # build-time, loaded on demand

    try:
        transcript = render_preview(routine, settings, Path(args.audio))
    except (RenderError, VoiceError) as exc:
        raise CliError(str(exc)) from None
    for line in transcript:
        print(f"{_mmss(line['t'])}  {line['text']}")
    print(f"Wrote {args.audio}.", file=sys.stderr)
    return 0


def cmd_render(args: argparse.Namespace, settings: config.Settings) -> int:
    """Render routines to MP3 tracks (only what changed) and write their manifests, full and quick.

    A locale given its own voice (TRIGGER_COACH_LOCALE_VOICES) gets its own tracks too.

    Example: trigger-coach render            (all routines, both lengths)
             trigger-coach render calves feet
             trigger-coach render --length quick upper-back
    """
    from skill.core.lengths import version, versions
    from skill.render import VoiceError, render_library
    from skill.render.progress import ProgressBar

    library = _library(settings)
    picked = [_pick(library, name) for name in args.routines] or list(library.routines)
    length = getattr(args, "length", "both")
    routines = [v for r in picked for v in (versions(r) if length == "both" else (version(r, length),))]
    failed = False
    for voiced in settings.voiced():  # the main voice, then each locale's own (TRIGGER_COACH_LOCALE_VOICES)
        if voiced is not settings:
            print(f"Rendering with {voiced.voice} for {voiced.voice_locale}:", file=sys.stderr)
        try:
            report = render_library(routines, voiced, progress=ProgressBar())
        except VoiceError as exc:
            raise CliError(str(exc)) from None
        for failure in report.failures:
            print(f"error: {failure}", file=sys.stderr)
        print(report.summary())
        failed = failed or bool(report.failures)
    return 1 if failed else 0


def cmd_model(args: argparse.Namespace, settings: config.Settings) -> int:
    """Write every locale's interaction model, the skill.json listings and the Routines task, or --check for drift.

    Example: trigger-coach model --check
    """
    from skill.alexa.model import check_model, write_model
    from skill.alexa.tasks import check_task, write_task

    library = _library(settings)
    complaints = _complaints(settings, library)
    if args.check:
        drift = check_model(library, complaints) or check_task(library)
        if drift:
            raise CliError(drift)
        print("The interaction models, store listings and task file match routines/ and skill/text/.")
        return 0
    for path in (*write_model(library, complaints), write_task(library)):
        print(f"Wrote {path}.")
    return 0


def cmd_serve(args: argparse.Namespace, settings: config.Settings) -> int:
    """Serve the skill over HTTP with SQLite storage and local audio, rendering missing tracks first.

    Example: trigger-coach serve --port 8000
    """
    from skill.hosting.web import serve

    settings = settings.with_(host=args.host or settings.host, port=args.port or settings.port)
    _complaints(settings, _library(settings))  # the full check; the server loads without jsonschema
    if not args.no_render:
        rc = cmd_render(argparse.Namespace(routines=[]), settings)
        if rc:
            raise CliError("Some tracks failed to render; fix the errors above and try again.")
    serve(settings)
    return 0


def cmd_package(args: argparse.Namespace, settings: config.Settings) -> int:
    """Build the AWS Lambda zip: request-time dependencies, the skill, routines and render manifests.

    Routines must validate and be rendered first (the tracks themselves go to S3, not
    into the zip). Dependencies are pip wheels for the Lambda platform, from PyPI.
    Example: trigger-coach render && trigger-coach package
             trigger-coach package --output build/trigger-coach-lambda.zip --architecture arm64
    """
    from skill.hosting.package import PackageError, build_bundle

    try:
        bundle = build_bundle(settings, args.output, python_version=args.python_version,
                              architecture=args.architecture)
    except PackageError as exc:
        raise CliError(str(exc)) from None
    print(bundle.summary())
    return 0


def cmd_deploy(args: argparse.Namespace, settings: config.Settings) -> int:
    """Deploy to AWS: upload the bundle, 'sam deploy' template.yaml, upload the tracks and pictures.

    Needs AWS credentials (as for the AWS CLI) and the SAM CLI ('sam') on PATH. Safe to
    repeat: unchanged bundles, tracks and pictures already in the bucket are not uploaded again.
    Example: trigger-coach deploy --skill-id amzn1.ask.skill.12345678-90ab-cdef-1234-567890abcdef
    """
    from skill.hosting.deploy import DeployError, deploy

    skill_id = args.skill_id or settings.skill_id
    if skill_id == config.LOCAL_SKILL_ID:
        raise CliError("Which skill? Pass --skill-id amzn1.ask.skill.… (from the Alexa developer console) "
                       "or set TRIGGER_COACH_SKILL_ID.")
    try:
        print(deploy(skill_id=skill_id, stack_name=args.stack_name, region=args.region or settings.aws_region,
                     voice=settings.voice, bundle=args.bundle, tracks_dir=settings.tracks_dir,
                     images_dir=settings.images_dir, code_bucket=args.code_bucket,
                     locale_voices=",".join(f"{loc}={v}" for loc, v in settings.locale_voices)))
    except DeployError as exc:
        raise CliError(str(exc)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every sub-command."""
    parser = argparse.ArgumentParser(prog="trigger-coach", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, **kw) -> argparse.ArgumentParser:
        doc = func.__doc__ or ""
        p = sub.add_parser(name, help=doc.splitlines()[0], description=doc,
                           formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
        p.set_defaults(func=func)
        return p

    add("validate", cmd_validate).add_argument("paths", nargs="*", type=Path)
    p = add("preview", cmd_preview)
    p.add_argument("routine")
    p.add_argument("--audio", metavar="OUT.mp3", help="render the whole routine to this MP3 file")
    p.add_argument("--length", choices=("full", "quick"), default="full",
                   help="which version of the routine (default: full)")
    p = add("render", cmd_render)
    p.add_argument("routines", nargs="*")
    p.add_argument("--length", choices=("both", "full", "quick"), default="both",
                   help="which versions to render (default: both)")
    add("model", cmd_model).add_argument("--check", action="store_true")
    from skill.hosting.package import DEFAULT_OUTPUT, LAMBDA_ARCHITECTURE, LAMBDA_PYTHON, PLATFORMS

    p = add("package", cmd_package)
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"the zip to write (default {DEFAULT_OUTPUT})")
    p.add_argument("--architecture", choices=sorted(PLATFORMS), default=LAMBDA_ARCHITECTURE,
                   help=f"the function's architecture (default {LAMBDA_ARCHITECTURE}, as in template.yaml)")
    p.add_argument("--python-version", default=LAMBDA_PYTHON,
                   help=f"the Lambda runtime's Python (default {LAMBDA_PYTHON}, as in template.yaml)")
    p = add("deploy", cmd_deploy)
    p.add_argument("--skill-id", help="your skill's id (default: TRIGGER_COACH_SKILL_ID)")
    p.add_argument("--stack-name", default="trigger-coach", help="the CloudFormation stack (default trigger-coach)")
    p.add_argument("--region", help="the AWS region (default: TRIGGER_COACH_AWS_REGION)")
    p.add_argument("--bundle", type=Path, default=DEFAULT_OUTPUT, help=f"the zip to deploy (default {DEFAULT_OUTPUT})")
    p.add_argument("--code-bucket", help="the bucket for the bundle (default: STACK-code-ACCOUNT-REGION, created)")
    add("complaints", cmd_complaints)
    p = add("serve", cmd_serve)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--no-render", action="store_true", help="serve without rendering first")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, config.from_env())
    except (CliError, config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
