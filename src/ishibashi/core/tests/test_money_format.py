"""One amount format on every page: ¥12,345 and −¥12,345."""

from django.template import Context, Template

from ishibashi.core.money import format_signed_yen, format_yen


def test_amounts_are_drawn_with_the_yen_sign_and_thousands_separators():
    assert format_yen(12345) == "¥12,345"
    assert format_yen(0) == "¥0"
    assert format_yen(-12345) == "\u2212¥12,345"


def test_a_change_shows_its_direction():
    assert format_signed_yen(1000) == "+¥1,000"
    assert format_signed_yen(-1000) == "\u2212¥1,000"
    assert format_signed_yen(0) == "¥0"


def test_every_template_has_the_yen_filter_without_loading_it():
    rendered = Template("{{ a|yen }} {{ b|yen }} {{ c|signed_yen }} {{ d|yen }}").render(
        Context({"a": 21600, "b": -500, "c": 300, "d": None})
    )
    assert rendered == "¥21,600 \u2212¥500 +¥300 —"
