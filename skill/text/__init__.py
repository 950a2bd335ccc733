"""Hold every sentence the coach says, one module per locale, and pick one by locale.

`en_US.py` is the whole text: every constant and every function that builds a sentence.
Another locale's module (`en_GB.py`, `en_IN.py`, ...) holds only the names whose words
differ. `for_locale("en-GB")` returns a namespace that is en_US with those names replaced,
built by running en_US's source with the overrides already in place: so a sentence that
en_US builds from other sentences (a function reading `INVOCATION`, or a constant written
as an f-string of `OKAY`) says the locale's words too, without the locale repeating it.

A sixth locale is one new file here named like `en_NZ.py` (language, underscore, region):
it is found by its name, nothing else is edited. Its classes (e.g. `Question`) are en_US's
own, so `isinstance` checks hold in every locale.

Lookup is forgiving on purpose: a locale Alexa sends is matched exactly, then by language
(`en-ZA` gets en-US), and anything else (None, "de-DE", garbage) gets en-US, never an error.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
import types
from collections.abc import Iterable
from pathlib import Path

from skill.text import en_US

BASE = "en-US"
_MODULE_NAME = re.compile(r"^([a-z]{2})_([A-Z]{2})\.py$")
_LOCALE = re.compile(r"^([a-zA-Z]{2})[-_]([a-zA-Z]{2})$")


def module_locale(file_name: str) -> str | None:
    """Return the locale a text module's file name stands for ("en_GB.py" -> "en-GB"), or None."""
    match = _MODULE_NAME.match(file_name)
    return f"{match[1]}-{match[2]}" if match else None


def normalized(locale: object) -> str | None:
    """Return a locale as Alexa spells it ("en-gb" -> "en-GB"), or None if it is not one."""
    if not isinstance(locale, str):
        return None
    match = _LOCALE.match(locale.strip())
    return f"{match[1].lower()}-{match[2].upper()}" if match else None


def _overrides(module: types.ModuleType) -> dict[str, object]:
    """Return the names a locale module sets, without its imports and dunders."""
    return {name: value for name, value in vars(module).items()
            if not (name.startswith("__") or isinstance(value, types.ModuleType))
            and name != "annotations"}


class _Pinned(dict):
    """Module-level names of en_US's source as it runs: pinned names keep the locale's value.

    Every other assignment is mirrored into `namespace`, the functions' globals, so a
    function called while the module is still running (e.g. `FORGET = _yes_no(...)`)
    finds everything defined above it.
    """

    def __init__(self, pinned: dict[str, object], namespace: dict[str, object]) -> None:
        super().__init__(pinned)
        namespace.update(pinned)
        self.pinned = frozenset(pinned)
        self.namespace = namespace

    def __setitem__(self, key: str, value: object) -> None:
        if key not in self.pinned:
            super().__setitem__(key, value)
            self.namespace[key] = value


@functools.cache
def _base_code() -> types.CodeType:
    """Return en_US's source compiled once, for every locale built from it."""
    return compile(Path(en_US.__file__).read_text(encoding="utf-8"), en_US.__file__, "exec")


class Texts:
    """Every locale's text found in some folders; en_US is the base of each.

    `folders` are searched for locale modules (default: this package). Namespaces are built
    once per locale, on first use, and are safe to share between threads.
    """

    def __init__(self, folders: Iterable[str | Path] | None = None) -> None:
        self.folders = tuple(Path(f) for f in (folders if folders is not None else __path__))
        self._files: dict[str, Path] = {}
        for folder in self.folders:
            for path in sorted(folder.glob("*.py")):
                locale = module_locale(path.name)
                if locale and locale != BASE:
                    self._files.setdefault(locale, path)
        self._built: dict[str, types.ModuleType] = {BASE: en_US}
        self._lock = threading.Lock()

    @property
    def built(self) -> tuple[str, ...]:
        """Return the locales whose text has been built so far (en-US always is), sorted."""
        with self._lock:
            return tuple(sorted(self._built))

    @property
    def locales(self) -> tuple[str, ...]:
        """Return every locale with text, en-US first."""
        return (BASE, *sorted(self._files))

    def resolve(self, locale: object) -> str:
        """Return the supported locale that serves `locale`: exact, then same language, then en-US."""
        wanted = normalized(locale)
        if wanted is None:
            return BASE
        if wanted == BASE or wanted in self._files:
            return wanted
        language = wanted.split("-")[0]
        kin = [loc for loc in self.locales if loc.split("-")[0] == language]
        return kin[0] if kin else BASE  # en-ZA: en-US (the base comes first); fr-BE: a French one

    def __call__(self, locale: object) -> types.ModuleType:
        """Return the text for a request's locale (see `resolve`); never raises for a bad locale."""
        if isinstance(locale, str):  # the usual case, a locale as Alexa spells it, already built
            built = self._built.get(locale)
            if built is not None:
                return built
        code = self.resolve(locale)
        with self._lock:
            built = self._built.get(code)
            if built is None:
                built = self._built[code] = self._build(code)
        return built

    def _build(self, code: str) -> types.ModuleType:
        path = self._files[code]
        name = f"skill.text.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        own = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(own)
        classes = {k: v for k, v in vars(en_US).items() if isinstance(v, type) and v.__module__ == en_US.__name__}
        # Run as en_US (its classes are re-declared, then dropped for the pinned originals).
        namespace: dict[str, object] = {"__name__": en_US.__name__, "__file__": en_US.__file__}
        pinned = _Pinned({**classes, **_overrides(own), "LOCALE": code}, namespace)
        exec(_base_code(), namespace, pinned)
        for key, value in _overrides(own).items():  # a locale's own function reads the merged names
            if isinstance(value, types.FunctionType):
                namespace[key] = types.FunctionType(value.__code__, namespace, value.__name__,
                                                    value.__defaults__, value.__closure__)
        text = types.ModuleType(name, en_US.__doc__)
        vars(text).update({**namespace, "__name__": name})
        return text


TEXTS = Texts()
for_locale = TEXTS.__call__
LOCALES: tuple[str, ...] = TEXTS.locales
Question = en_US.Question
ssml = en_US.ssml  # markup, not words: the same in every locale
ssml_appended = en_US.ssml_appended
added_words = en_US.added_words  # merging word lists, not words: the same in every locale

__all__ = ["BASE", "LOCALES", "TEXTS", "Question", "Texts", "added_words", "for_locale", "module_locale",
           "normalized", "ssml", "ssml_appended"]
