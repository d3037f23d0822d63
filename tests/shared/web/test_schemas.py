"""shared/web/schemas.py: patterns that hold for the whole text."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError, validate

from shared.web.schemas import FullMatch

NAME = r"^[a-z]{1,8}$"


@pytest.mark.parametrize(
    "text",
    [
        "anna\n",  # Python's `$` matches before a final newline: re.match let this through
        "anna\n\n",
        "\nanna",
        "anna bob",
        "",
    ],
)
def test_a_pattern_refuses_what_it_does_not_spell_out_to_the_end(text: str) -> None:
    with pytest.raises(ValidationError):
        FullMatch(NAME)(text)


def test_the_text_the_pattern_spells_is_accepted_as_it_is() -> None:
    assert FullMatch(NAME)("anna") == "anna"


def test_the_document_states_the_pattern_as_written() -> None:
    # apispec documents a Regexp by its pattern: FullMatch is one, so JSON Schema's `pattern`
    # (whose `$` is the end of the text) says what the validator does.
    validator = FullMatch(NAME, error="must be a name")
    assert isinstance(validator, validate.Regexp)
    assert validator.regex.pattern == NAME
    with pytest.raises(ValidationError, match="must be a name"):
        validator("anna\n")
