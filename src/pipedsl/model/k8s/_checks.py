"""Validators for Kubernetes names and values (on top of :mod:`pipedsl.model._checks`)."""

from __future__ import annotations

import re
from typing import Any

import attrs

from pipedsl.model._checks import carriable, fail, matches

DNS_LABEL_TEXT = (
    "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters"
)
NAME = matches(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", DNS_LABEL_TEXT)
# Services are DNS-1035 labels: they must also start with a letter.
SERVICE_NAME = matches(
    r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?",
    "a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, ending with a "
    "letter or digit, at most 63 characters",
)
PORT_NAME = matches(
    r"(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    "an IANA service name: at most 15 lower-case letters, digits and '-', with a letter, "
    "no '--', not starting or ending with '-'",
)
CONFIG_KEY = matches(r"[-._a-zA-Z0-9]{1,253}", "letters, digits, '-', '_' and '.'")
QUANTITY = matches(
    r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?",
    "a Kubernetes quantity such as '500m', '256Mi', '10Gi'",
)
ABSOLUTE_PATH = matches(r"/[^\x00\n\r]*", "an absolute path")

_QUANTITY_UNITS = {
    "": 1,
    "m": 0.001,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity_value(text: str) -> float:
    """The number a quantity string stands for (``"512Mi"`` -> 536870912)."""
    found = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)", text)
    if found is None or found.group(2) not in _QUANTITY_UNITS:
        raise ValueError(f"not a quantity: {text!r}")
    return float(found.group(1)) * _QUANTITY_UNITS[found.group(2)]


def port_number(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise fail(instance, attribute, f"expected a port number 1-65535, got {value!r}")


def non_negative_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(instance, attribute, f"expected an int >= 0, got {value!r}")


# Annotation and label keys: an optional DNS prefix and '/', then a name of at most 63 characters.
_QUALIFIED_KEY = (
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_ANNOTATION_KEY = matches(
    _QUALIFIED_KEY,
    "an annotation key such as nginx.ingress.kubernetes.io/rewrite-target: an optional DNS "
    "prefix and '/', then at most 63 letters, digits, '-', '_' and '.'",
)
_LABEL_KEY = matches(
    _QUALIFIED_KEY,
    "a label key such as 'colour' or 'example.com/tier': an optional DNS prefix and '/', then at "
    "most 63 letters, digits, '-', '_' and '.'",
)
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?")


def _string_pairs(
    instance: object, attribute: attrs.Attribute[Any], value: object, what: str
) -> tuple[tuple[str, str], ...]:
    """``value`` (converted by ``_checks.pairs``) as (key, string) pairs, or a clear error."""
    if not isinstance(value, tuple):
        raise fail(instance, attribute, f"expected a mapping of {what} to value")
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], str)):
            raise fail(instance, attribute, f"expected a mapping of {what} to a string value")
    return value


def check_annotations(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Annotations, converted by ``_checks.pairs``: qualified keys, string values a manifest
    can carry."""
    for key, text in _string_pairs(instance, attribute, value, "annotation"):
        _ANNOTATION_KEY(instance, attribute, key)
        carriable(instance, attribute, text)


def check_labels(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Labels, converted by ``_checks.pairs``: qualified keys, values of at most 63 letters,
    digits, '-', '_' and '.' (empty allowed)."""
    for key, text in _string_pairs(instance, attribute, value, "label"):
        _LABEL_KEY(instance, attribute, key)
        if not _LABEL_VALUE.fullmatch(text):
            raise fail(
                instance,
                attribute,
                f"label {key!r}: value {text!r} is not allowed: at most 63 letters, "
                "digits, '-', '_' and '.', starting and ending with a letter or digit",
            )
