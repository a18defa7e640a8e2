from pathlib import Path

from shared.events.schemas import REGENERATE, differing_files, generate_schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_the_checked_in_schemas_are_the_generated_ones() -> None:
    differing = differing_files(SCHEMAS, generate_schemas())

    assert not differing, (
        "docs/schemas is out of date with the event models: "
        + ", ".join(f"{name} ({problem})" for name, problem in differing.items())
        + f". Run `{REGENERATE}` and commit the result."
    )


def test_generation_is_deterministic() -> None:
    assert generate_schemas() == generate_schemas()


def test_schema_files_are_sorted_two_space_json_ending_in_a_newline() -> None:
    text = generate_schemas()["envelope.json"]

    assert text.endswith("}\n")
    assert text.startswith('{\n  "$comment"')


def test_a_changed_file_is_reported(tmp_path: Path) -> None:
    expected = {"a.json": "{}\n", "b.json": "{}\n"}
    (tmp_path / "a.json").write_text("{}\n")
    (tmp_path / "c.json").write_text("{}\n")

    differing = differing_files(tmp_path, expected)

    assert differing == {"b.json": "missing", "c.json": "not generated any more"}
