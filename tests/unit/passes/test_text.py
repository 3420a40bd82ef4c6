from virtualize.passes.text import TRUNCATION_MARKER, bound, clean


def test_markup_noise_goes_and_meaning_stays():
    text = "<p>Lists <b>pets</b>.</p><ul><li>one</li><li>two</li></ul> See [the docs](https://x.y/z) ![logo](l.png)"
    assert clean(text) == "Lists pets.\n\n- one\n- two\nSee the docs logo"


def test_angle_brackets_that_are_not_html_survive():
    assert clean("Returns List<String> &amp; more") == "Returns List<String> & more"


def test_bound_cuts_at_a_word_with_a_visible_marker():
    text, cut = bound("alpha beta gamma delta epsilon " * 10, 60)
    assert cut
    assert len(text) <= 60
    assert text.endswith(TRUNCATION_MARKER)
    assert bound("short", 60) == ("short", False)
