import types

import virtualize


def test_all_is_sorted_and_names_exist():
    assert virtualize.__all__ == sorted(virtualize.__all__)
    for name in virtualize.__all__:
        assert hasattr(virtualize, name), name


def test_every_public_name_is_in_all():
    # Submodules become attributes of the package once anything imports them; they are not API names.
    public = {
        name
        for name, value in vars(virtualize).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(virtualize.__all__)
