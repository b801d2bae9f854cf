"""Options written down once: each field's check, default, meaning and whose choice it is.

A configuration dataclass declares each field with :func:`option`; the field's
metadata then hold everything the rest of the package says of it:
:func:`check_fields` checks and normalises every value from its declaration
(so ``__post_init__`` keeps only the checks between fields), :func:`parameters_doc`
writes the numpydoc ``Parameters`` section of the class's docstring, and
:func:`about` gives the book's table of whose choice each default is. The
checks are small callables (:func:`flag`, :func:`choice`, :func:`positive`, …)
that name the option and the value at fault.

The YAML files a user writes (study plans, a dataset folder's ``dataset.yml``)
are declared as JSON Schemas beside their readers, every key with a
``description``; :func:`check_document` checks a document against one and names
the file, the key and the value of the first problem.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Filter:
...     cutoff_hz: float = option(20.0, positive(), "ours", "Cut-off (Hz).")
...     def __post_init__(self):
...         check_fields(self, "filter option")
>>> Filter(cutoff_hz=5).cutoff_hz
5.0
>>> Filter(cutoff_hz=-1)
Traceback (most recent call last):
...
ValueError: filter option cutoff_hz=-1 must be a positive number
>>> print(parameters_doc(Filter))
cutoff_hz : float, default 20.0
    Cut-off (Hz). Default: ours.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["option", "check_fields", "parameters_doc", "about", "documented", "first_sentence", "Check", "flag",
           "choice", "positive", "fraction", "integer", "window", "names", "points", "mapping", "entries",
           "check_document"]


@dataclass(frozen=True)
class Check:
    """How a value is checked and normalised, and how its type reads in the docs."""

    type: str
    convert: Callable[[Any], Any]
    expected: str

    def __call__(self, name: str, value, context: str):
        try:
            return self.convert(value)
        except (TypeError, _Refused):
            raise ValueError(f"{context} {name}={value!r} must be {self.expected}") from None


class _Refused(Exception):
    pass


def _refuse(ok: bool) -> None:
    if not ok:
        raise _Refused


def _real(value) -> float:
    _refuse(not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value))
    return float(value)


def _optional(check: Check, optional: bool) -> Check:
    if not optional:
        return check
    return Check(f"{check.type} or None", lambda v: None if v is None else check.convert(v),
                 f"{check.expected} or null")


def flag() -> Check:
    """``True`` or ``False`` (not 0 or 1)."""
    def convert(value):
        _refuse(isinstance(value, bool))
        return value
    return Check("bool", convert, "true or false")


def choice(*values: str) -> Check:
    """One of ``values``."""
    def convert(value):
        _refuse(value in values)
        return value
    return Check("{" + ", ".join(map(repr, values)) + "}", convert,
                 "one of " + ", ".join(map(repr, values)))


def positive(optional: bool = False) -> Check:
    """A finite number > 0 (as float); ``None`` too when ``optional``."""
    def convert(value):
        number = _real(value)
        _refuse(number > 0)
        return number
    return _optional(Check("float", convert, "a positive number"), optional)


def fraction() -> Check:
    """A number strictly between 0 and 1."""
    def convert(value):
        number = _real(value)
        _refuse(0 < number < 1)
        return number
    return Check("float", convert, "a number between 0 and 1")


def integer(minimum: int, optional: bool = False) -> Check:
    """A whole number ≥ ``minimum`` (``3.0`` is accepted as 3)."""
    def convert(value):
        number = _real(value)
        _refuse(number == int(number) and number >= minimum)
        return int(number)
    return _optional(Check("int", convert, f"an integer ≥ {minimum}"), optional)


def _list(value) -> tuple:
    _refuse(not isinstance(value, (str, bytes)) and hasattr(value, "__iter__"))
    return tuple(value)


def window() -> Check:
    """A pair [start, end] of seconds with start < end."""
    def convert(value):
        pair = tuple(_real(v) for v in _list(value))
        _refuse(len(pair) == 2 and pair[0] < pair[1])
        return pair
    return Check("pair of float", convert, "[start, end] with start < end (s)")


def names(optional: bool = True) -> Check:
    """A list of names (as a tuple of str)."""
    return _optional(Check("list of str", lambda v: tuple(str(x) for x in _list(v)), "a list of names"), optional)


def points(minimum: int = 2) -> Check:
    """A number of samples ≥ ``minimum``, or a list of them (one per phase)."""
    one = integer(minimum).convert

    def convert(value):
        return tuple(one(v) for v in value) if isinstance(value, (list, tuple)) else one(value)
    return Check("int or list of int", convert, f"an integer ≥ {minimum} or a list of them")


def mapping(optional: bool = True) -> Check:
    """Names → positive numbers (e.g. muscle → reference value)."""
    def convert(value):
        _refuse(isinstance(value, Mapping))
        return {str(k): positive().convert(v) for k, v in value.items()}
    return _optional(Check("dict of str to float", convert, "a mapping of names to positive numbers"), optional)


def entries(convert_one: Callable[[Any], dict], type_: str, expected: str) -> Check:
    """A list whose entries ``convert_one`` checks (it raises ValueError naming what is wrong)."""
    def convert(value):
        _refuse(not isinstance(value, Mapping))
        return tuple(convert_one(v) for v in _list(value))
    return Check(type_, convert, expected)


def option(default, check: Check, by: str, doc: str, *, hash: bool = True):
    """A dataclass field declared once: its default, check, whose choice the default is, and meaning.

    ``doc`` is one or more sentences; its first sentence is the short form the
    book's tables show.
    """
    metadata = {"check": check, "by": by, "doc": " ".join(doc.split())}
    if isinstance(default, (list, dict)):
        raise TypeError("give a mutable default as a tuple (lists) or None (mappings)")
    return dataclasses.field(default=default, metadata=metadata, hash=hash)


def _declared(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "check" in f.metadata]


def check_fields(instance, context: str) -> None:
    """Check and normalise every declared field of a (frozen) dataclass instance in place."""
    for f in _declared(instance):
        object.__setattr__(instance, f.name, f.metadata["check"](f.name, getattr(instance, f.name), context))


def _shown_default(value) -> str:
    return "None" if value is None else repr(list(value) if isinstance(value, tuple) else value)


def parameters_doc(cls) -> str:
    """The numpydoc ``Parameters`` entries of a class's declared fields."""
    blocks = []
    for f in _declared(cls):
        text = f"{f.metadata['doc']} Default: {f.metadata['by']}."
        blocks.append(f"{f.name} : {f.metadata['check'].type}, default {_shown_default(f.default)}\n"
                      + textwrap.indent(textwrap.fill(text, 96), "    "))
    return "\n".join(blocks)


def first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not one of "e.g.", "i.e."), or the whole text.

    Examples
    --------
    >>> first_sentence("Names, e.g. ``['a']``. More.")
    "Names, e.g. ``['a']``."
    """
    match = re.search(r"(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z`])", text)
    return text[:match.start() + 1] if match else text


def about(cls) -> dict[str, tuple[str, str]]:
    """Field name → (whose choice the default is, what the option does in a sentence, as plain text)."""
    return {f.name: (f.metadata["by"], _plain_text(first_sentence(f.metadata["doc"]))) for f in _declared(cls)}


def _plain_text(rst: str) -> str:
    """Inline reST as plain text: roles and literals lose their markup."""
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", rst).replace("``", "")


def documented(header: str, footer: str = "") -> Callable[[type], type]:
    """Class decorator: the docstring becomes ``header``, the generated Parameters section, ``footer``."""
    def decorate(cls):
        cls.__doc__ = (textwrap.dedent(header).strip() + "\n\nParameters\n----------\n" + parameters_doc(cls)
                       + ("\n\n" + textwrap.dedent(footer).strip() if footer else "") + "\n")
        return cls
    return decorate


# ---------------------------------------------------------------- YAML documents (plans, dataset.yml)
def _key_path(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def _message(error) -> str:
    """One sentence for a JSON-Schema error: the key at fault, its value and what is allowed."""
    where = _key_path(error.absolute_path)
    at = f"{where}: " if where else ""
    schema = error.schema
    if error.validator == "additionalProperties":
        allowed = schema.get("properties", {})
        unknown = sorted(set(error.instance) - set(allowed))
        absent = [k for k in allowed if k not in error.instance]
        hints = [f"{key!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(key, absent, 1))
                 else repr(key) for key in unknown]
        listed = "; ".join(f"{k} ({v['description']})" if "description" in v else k for k, v in allowed.items())
        return f"{at}unknown key(s) [{', '.join(hints)}]; allowed: {listed}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        described = schema.get("properties", {}).get(missing[0], {}).get("description", "")
        return f"{at}missing key {missing[0]!r}" + (f" ({described})" if described else "")
    expected = schema.get("description", "")
    return (f"{at}{error.instance!r} is not allowed: {error.message}"
            + (f" ({where}: {expected})" if expected and where else ""))


def check_document(document, schema: Mapping[str, Any], where: str) -> None:
    """Raise ValueError naming ``where`` (the file), the key and the value of a document's first error.

    ``schema`` is a JSON Schema (draft 2020-12) whose properties carry a
    ``description``; the message lists the allowed keys with them.

    Examples
    --------
    >>> schema = {"type": "object", "additionalProperties": False, "required": ["fs"],
    ...           "properties": {"fs": {"type": "number", "exclusiveMinimum": 0, "description": "Hz"}}}
    >>> check_document({"fs": -1}, schema, "lab.yml")
    Traceback (most recent call last):
    ...
    ValueError: lab.yml: fs: -1 is not allowed: -1 is less than or equal to the minimum of 0 (fs: Hz)
    >>> check_document({"fz": 1}, schema, "lab.yml")
    Traceback (most recent call last):
    ...
    ValueError: lab.yml: unknown key(s) ['fz']; allowed: fs (Hz)
    >>> check_document({}, schema, "lab.yml")
    Traceback (most recent call last):
    ...
    ValueError: lab.yml: missing key 'fs' (Hz)
    """
    import jsonschema

    # shallowest first, and an unknown key before a missing one: a misspelt key explains both
    order = {"additionalProperties": 0, "required": 1}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document),
                    key=lambda e: (len(e.absolute_path), order.get(e.validator, 2), list(map(str, e.absolute_path))))
    if errors:
        raise ValueError(f"{where}: {_message(errors[0])}")
