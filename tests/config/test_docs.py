"""docs/configuration.md is generated from the schema; it may not drift from it."""

from typing import Annotated

import msgspec
import pytest

from gateway.config import docs


def test_the_committed_reference_is_what_the_schema_generates():
    assert docs.OUTPUT.read_text() == docs.render(), "run: python -m gateway.config.docs"


def test_a_section_without_its_table_fails_the_generator():
    template = docs.TEMPLATE.read_text().replace("{{ table calllog.retention }}", "")
    with pytest.raises(ValueError, match=r"no table in configuration\.md\.in for Retention"):
        docs.render(template)


def test_a_field_without_a_description_fails_the_generator():
    class Section(msgspec.Struct):
        """A section."""

        documented: Annotated[int, msgspec.Meta(ge=1, description="has one")] = 1
        bare: int = 0

    with pytest.raises(ValueError, match=r"Section.bare has no description"):
        docs._table(Section, docs._Sections())


def test_the_reference_states_the_bounds_the_schema_enforces():
    text = docs.render()
    assert "| `max_body_bytes` | integer ≥ 1,024 | `4194304` |" in text
    assert "| `timeout_s` | number > 0 | `600` | longest wait for the next byte" in text
    # every registered provider type is listed, with a link to its options when it has some
    assert "| `openai_compatible` | [`providers[].openai_compatible`](#providersopenai_compatible) |" in text
