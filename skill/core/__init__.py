"""The pure core: routines, timelines, the player, progress. No I/O, no SDK, Flask or pydub.

Its value types are `typing.NamedTuple`s: immutable, hashable, equal by their fields, changed
with ``_replace``. Not frozen dataclasses: CPython 3.11 builds each dataclass by exec()ing
its generated methods (about 0.8 ms a class against 0.1 ms for a NamedTuple), and the
Lambda handler's cold start creates every type on its path. Mind what comes with a tuple:
never compare a value with a plain tuple or a value of another type, or unpack it by position.
"""
