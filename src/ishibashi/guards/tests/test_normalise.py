"""Each obfuscation the normaliser undoes, and the detector seeing through it."""

from __future__ import annotations

import pytest

from ishibashi.guards import detect
from ishibashi.guards.normalise import fold, fold_contacts, fold_digits


@pytest.mark.parametrize(
    ("_case", "text", "folded"),
    [
        ("full-width at and letters", "ｔａｎａｋａ＠ｇｍａｉｌ．ｃｏｍ", "tanaka@gmail.com"),
        ("あっと and どっと", "tanaka あっと gmail どっと com", "tanaka@gmail.com"),
        ("bracketed at and dot", "hr [at] acme-studio [dot] com", "hr@acme-studio.com"),
        ("parenthesised at", "info(at)sakura-design.jp", "info@sakura-design.jp"),
        ("spaces around @ and dots", "y.takahashi @ gmail . com", "y.takahashi@gmail.com"),
        ("zero-width characters", "jane.doe\u200b@\u200bproton.me", "jane.doe@proton.me"),
        ("spaced link", "line . me / ti / p / abc", "line.me/ti/p/abc"),
    ],
)
def test_contact_view_undoes_address_obfuscation(_case: str, text: str, folded: str) -> None:
    assert fold_contacts(fold(text)).text == folded


@pytest.mark.parametrize(
    ("_case", "text", "folded"),
    [
        ("kanji numerals", "〇九〇 一二三四 五六七八", "090 12345678"),
        ("full-width digits", "０９０－１２３４－５６７８", "090-1234-5678"),
        ("spaced digits", "0 8 0 - 9 8 7 6", "080 - 9876"),
        ("English number words", "zero nine zero one two three four", "0901234"),
    ],
)
def test_digits_view_reads_numbers_however_written(_case: str, text: str, folded: str) -> None:
    assert fold_digits(fold(text)).text == folded


def test_width_case_and_kana_are_folded_and_spaces_between_kanji_dropped() -> None:
    assert fold("ＬＩＮＥ ＩＤ").text == "line id"
    assert fold("ﾗｲﾝ").text == fold("ライン").text == fold("らいん").text == "らいん"
    assert fold("ｶﾞｲﾄﾞ").text == "がいど"
    assert fold("仮 払 い 前 に").text == "仮払い前に"
    assert fold("S t a r t  b e f o r e").text == "start before"


def test_at_between_words_is_not_an_address_without_a_domain() -> None:
    assert detect("Let's meet at 3pm. See you at the office.").categories == []


@pytest.mark.parametrize(
    ("_case", "text"),
    [
        ("full-width ＠", "連絡はｍｉｋａ＠ｙａｈｏｏ．ｃｏ．ｊｐへ"),
        ("あっと", "メールは mika あっと yahoo どっと co どっと jp です"),
        ("zero-width spaces", "mika\u200b@\u200byahoo.co.jp"),
        ("spaced digits", "0 9 0 1 2 3 4 5 6 7 8 に電話"),
        ("kanji numerals", "〇九〇－一二三四－五六七八"),
        ("full-width digits", "０３－５５５５－１２３４"),
    ],
)
def test_the_detector_sees_through_each_obfuscation(_case: str, text: str) -> None:
    assert detect(text).categories == ["off_platform"]


def test_a_hit_reports_the_words_as_typed_with_their_place() -> None:
    text = "ご連絡は ｍｉｋａ＠ｙａｈｏｏ．ｃｏ．ｊｐ まで"
    hit = next(hit for hit in detect(text).hits if hit.reason == "email_address")
    assert hit.excerpt == "ｍｉｋａ＠ｙａｈｏｏ．ｃｏ．ｊｐ"
    assert text[hit.start : hit.end] == hit.excerpt
