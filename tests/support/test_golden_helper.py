from pathlib import Path

import pytest

from tests.support.golden import assert_matches_golden, differences, write_golden


def test_identical_files_show_no_differences(tmp_path: Path):
    (tmp_path / "a.json").write_text("{}\n", encoding="utf-8")
    assert differences({"a.json": "{}\n"}, tmp_path) == ""


def test_missing_extra_and_changed_files_are_all_reported_with_a_diff(tmp_path: Path):
    (tmp_path / "same.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "changed.txt").write_text("old\nkept\n", encoding="utf-8")
    (tmp_path / "stale.txt").write_text("gone\n", encoding="utf-8")
    found = differences({"same.txt": "x\n", "changed.txt": "new\nkept\n", "new.txt": "n\n"}, tmp_path)
    assert f"missing from {tmp_path}: new.txt" in found
    assert f"not produced any more: {tmp_path / 'stale.txt'}" in found
    assert "-old\n+new\n kept" in found
    assert "same.txt" not in found


def test_update_mode_rewrites_the_folder_to_match_exactly(tmp_path: Path):
    (tmp_path / "stale.txt").write_text("gone\n", encoding="utf-8")
    (tmp_path / "changed.txt").write_text("old\n", encoding="utf-8")
    assert_matches_golden({"changed.txt": "new\n", "sub/added.txt": "a\n"}, tmp_path, update=True)
    assert differences({"changed.txt": "new\n", "sub/added.txt": "a\n"}, tmp_path) == ""
    assert not (tmp_path / "stale.txt").exists()


def test_a_difference_fails_with_the_regenerate_command(tmp_path: Path):
    write_golden({"a.txt": "1\n"}, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="--update-golden"):
        assert_matches_golden({"a.txt": "2\n"}, tmp_path, update=False)
