"""Business rules per certificate type.

The published ISO Schematron files are the authority; :mod:`.schematron` runs
them so that faster hand-written checks can be compared against them, and so
that a type for which only a ``.sch`` file exists can still be validated.
"""

from __future__ import annotations

from intygsgw.rules.schematron import (
    Failure,
    SchematronError,
    SchematronEvaluationError,
    SchematronSyntaxError,
    SchematronValidator,
    Translation,
    format_result_text,
    translate,
)

__all__ = [
    "Failure",
    "SchematronError",
    "SchematronEvaluationError",
    "SchematronSyntaxError",
    "SchematronValidator",
    "Translation",
    "format_result_text",
    "translate",
]
