"""The recipient registry file: the shipped reference set, and errors that name the line and field."""

from __future__ import annotations

import json

import pytest

from intygsgw.config.recipient_file import DEFAULT_FILE, RecipientFileError, load_recipients, parse_recipients

SHIPPED = DEFAULT_FILE.read_text(encoding="utf-8")


def test_the_shipped_file_holds_the_reference_set():
    registry = load_recipients()
    types = {r.id: r.recipient_type for r in registry.all()}
    assert types == {
        "FKASSA": "HUVUDMOTTAGARE",
        "TRANSP": "HUVUDMOTTAGARE",
        "SKV": "DIREKTMOTTAGARE",
        "SOS": "DIREKTMOTTAGARE",
        "AF": "HUVUDMOTTAGARE",
        "HSVARD": "MOTTAGARE",
        "INVANA": "MOTTAGARE",
    }
    assert registry.get("FKASSA").logical_address == "FKORG"
    assert registry.by_logical_address("fkorg").id == "FKASSA"
    assert registry.get("fkassa") is None  # ids are exact, as in the reference


def test_care_and_the_citizen_are_never_send_targets():
    registry = load_recipients()
    for type_id in ("lisjp", "db", "doi", "ag7804"):
        assert not {"HSVARD", "INVANA"} & {r.id for r in registry.send_targets_for(type_id)}
    assert [r.id for r in registry.send_targets_for("lisjp")] == ["FKASSA"]


def edited(change) -> str:
    data = json.loads(SHIPPED)
    change(data)
    return json.dumps(data, indent=2, ensure_ascii=False)


def line_of(text: str, recipient_id: str) -> int:
    index = text.index(f'"id": "{recipient_id}"')
    return text.count("\n", 0, text.rindex("{", 0, index)) + 1


@pytest.mark.parametrize(
    "recipient, key, value, complaint",
    [
        (
            "SOS",
            "recipientType",
            "DIREKT",
            "field 'recipientType' must be one of HUVUDMOTTAGARE, MOTTAGARE, DIREKTMOTTAGARE, got 'DIREKT'",
        ),
        ("AF", "active", "yes", "field 'active' must be bool, got 'yes'"),
        ("SKV", "certificateTypes", ["db", 7], "field 'certificateTypes' must list strings"),
        ("TRANSP", "logicalAddress", None, "field 'logicalAddress' is missing"),
        ("TRANSP", "logicalAddress", " ", "field 'logicalAddress' is empty"),
        ("FKASSA", "name", "", "field 'name' is empty"),
        ("SKV", "certificateTypes", ["db", ""], "field 'certificateTypes' lists an empty type"),
        ("TRANSP", "logicalAddress", "T" * 129, "field 'logicalAddress' is longer than 128 characters"),
    ],
)
def test_a_bad_field_names_the_recipient_its_line_and_the_field(recipient, key, value, complaint):
    def change(data):
        entry = next(r for r in data if r["id"] == recipient)
        if value is None:
            del entry[key]
        else:
            entry[key] = value

    text = edited(change)
    with pytest.raises(RecipientFileError) as excinfo:
        parse_recipients(text, "recipients.json")
    position = [r["id"] for r in json.loads(text)].index(recipient) + 1
    assert (
        str(excinfo.value)
        == f"recipients.json: recipient #{position} {recipient} (line {line_of(text, recipient)}): {complaint}"
    )


def test_syntax_errors_name_line_and_column():
    with pytest.raises(RecipientFileError, match=r"recipients.json: line 3, column \d+"):
        parse_recipients('[\n  {"id": "FKASSA",\n   "name" "x"}\n]', "recipients.json")


def test_required_recipients_and_unique_ids():
    with pytest.raises(RecipientFileError, match="required recipient\\(s\\) missing: INVANA"):
        parse_recipients(edited(lambda d: d.remove(next(r for r in d if r["id"] == "INVANA"))), "r.json")
    with pytest.raises(RecipientFileError, match=r"recipient #8 FKASSA \(line \d+\): id 'FKASSA' appears twice"):
        parse_recipients(edited(lambda d: d.append(dict(d[0]))), "r.json")


def test_an_id_longer_than_a_state_target_holds_is_refused():
    def lengthen(data):
        next(r for r in data if r["id"] == "SOS")["id"] = "S" * 33

    with pytest.raises(RecipientFileError, match="field 'id' is longer than 32 characters"):
        parse_recipients(edited(lengthen), "recipients.json")
