"""Chinese text handling (DOMAIN.md §7)."""

from __future__ import annotations

import pytest

from kexie.core.text import (
    clean_pasted_text,
    ngrams,
    normalise_name,
    pinyin_keys,
    query_tokens,
    search_key,
    strip_scrape_artifacts,
    to_simplified,
)


@pytest.mark.parametrize(
    "raw",
    [
        "阿依古丽•买买提",
        "阿依古丽・买买提",
        "阿依古丽.买买提",
        "阿依古丽 - 买买提",
        "阿依古丽･买买提",
        "阿依古丽‧买买提",
    ],
)
def test_look_alike_dots_become_the_middle_dot(raw):
    assert normalise_name(raw) == "阿依古丽·买买提"


def test_search_key_is_simplified_without_dots_or_spaces():
    assert search_key(" 阿依古麗·買買提 ") == "阿依古丽买买提"
    assert search_key("ＺＨＡＮＧ Wei") == "zhangwei"


def test_ngrams_hold_unigrams_and_bigrams():
    assert ngrams("张伟") == ["张", "伟", "张伟"]
    assert ngrams("张小伟") == ["张", "小", "伟", "张小", "小伟"]


def test_queries_use_themselves_when_short_and_bigrams_when_long():
    assert query_tokens("伟") == ["伟"]
    assert query_tokens("张伟") == ["张伟"]
    assert query_tokens("张小伟") == ["张小", "小伟"]


def test_pinyin_keys_full_and_initials():
    assert {"zhangwei", "zw"} <= pinyin_keys("张伟")


def test_surname_readings_are_corrected_and_every_reading_is_indexed():
    keys = pinyin_keys("曾伟")
    assert {"zengwei", "zw"} <= keys  # the surname reading
    assert {"cengwei", "cw"} <= keys  # the word reading too
    assert "shanli" in pinyin_keys("单丽")
    assert "ouyang" in pinyin_keys("区阳")


def test_traditional_names_give_the_same_keys():
    assert pinyin_keys("張偉") == pinyin_keys("张伟")


@pytest.mark.parametrize(
    ("scraped", "clean"),
    [
        ("地區(qū)", "地區"),
        ("科協(xié)", "科協"),
        ("系統(tǒng)", "系統"),
        ("們(men)", "們"),
        ("地區（qu）", "地區"),
        ("地區 (qū)", "地區"),
    ],
)
def test_scrape_artifacts_are_removed_when_pinyin_confirms_them(scraped, clean):
    assert strip_scrape_artifacts(scraped) == (clean, 1)


@pytest.mark.parametrize("kept", ["微信(WeChat)", "编号(A)", "张三(男)", "地区(xx)"])
def test_other_parentheses_stay(kept):
    assert strip_scrape_artifacts(kept) == (kept, 0)


def test_pasted_text_pipeline():
    text, removed = clean_pasted_text(
        "<p>塔城地區(qū)科協(xié)&nbsp;召開會議</p>\n<p>一要抓好……</p>"
    )
    assert text == "塔城地区科协 召开会议\n一要抓好……"
    assert removed == 2


def test_pasted_text_keeps_chinese_punctuation_and_fixes_full_width_digits():
    text, _ = clean_pasted_text("２０２３年，额敏县　完成培训２８场。")
    assert text == "2023年，额敏县 完成培训28场。"


def test_to_simplified():
    assert to_simplified("塔城地區科學技術協會") == "塔城地区科学技术协会"
