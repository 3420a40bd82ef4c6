import virtualize


def test_all_is_sorted_and_names_exist():
    assert virtualize.__all__ == sorted(virtualize.__all__)
    for name in virtualize.__all__:
        assert hasattr(virtualize, name), name


def test_every_public_name_is_in_all():
    public = {n for n in vars(virtualize) if not n.startswith("_")} - {
        # submodules are reachable as attributes once imported; they are not API names
        "adapters",
        "cli",
        "compiler",
        "config",
        "diagnostics",
        "errors",
        "ir",
        "manifest",
        "passes",
        "runtime",
    }
    assert public <= set(virtualize.__all__)
