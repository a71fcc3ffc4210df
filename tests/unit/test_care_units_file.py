"""The operator's sub-unit file: read whole or refused whole, with the key named."""

from __future__ import annotations

import pytest

from intygsgw.config.care_units import CareUnitFileError, load_sub_units


def write(tmp_path, text: str) -> str:
    path = tmp_path / "units.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_unit_maps_to_its_sub_units_without_itself_or_repeats(tmp_path):
    path = write(tmp_path, '[sub_units]\n"U1" = ["S1", " S2 ", "S1", "U1"]\n"U2" = []\n')
    assert load_sub_units(path) == {"U1": ("S1", "S2"), "U2": ()}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[sub_units]\n"U1" = "S1"\n', "sub_units.U1"),
        ('[sub_units]\n"U1" = ["S1", ""]\n', "sub_units.U1"),
        ('[units]\n"U1" = ["S1"]\n', "units"),
        ("sub_units = 3\n", "sub_units must be a table"),
        ("[sub_units\n", "units.toml"),
    ],
)
def test_a_broken_file_is_refused_naming_what_is_wrong(tmp_path, text, named):
    with pytest.raises(CareUnitFileError, match=named):
        load_sub_units(write(tmp_path, text))


def test_a_missing_file_is_refused_with_its_path(tmp_path):
    with pytest.raises(CareUnitFileError, match=r"nowhere\.toml"):
        load_sub_units(str(tmp_path / "nowhere.toml"))
