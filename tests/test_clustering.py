"""Work clustering rules: what makes two records one work, and what keeps them apart."""

from __future__ import annotations

from metadatabronn.identity import explain, key
from metadatabronn.mapping import convert

from .conftest import record_with

AUSTEN = "=100  1\\$aAusten, Jane,$d1775-1817."


def work_key(*lines, **kw) -> str:
    return key(convert(record_with(*lines, **kw)).work)


def test_same_creator_and_title_cluster_despite_dates_case_and_punctuation():
    a = work_key(AUSTEN, "=245  10$aPride and prejudice /$cJane Austen.")
    b = work_key("=100  1\\$aAUSTEN, JANE.", "=245  10$aPRIDE & PREJUDICE.")
    c = work_key("=100  1\\$aAusten, Jane$d(1775-1817)", "=245  14$aThe pride and prejudice :$ba novel")
    d = work_key(AUSTEN, "=245  10$aPride and prejudice.$nVolume 2.")
    assert a == b == c
    assert a != d  # a part is a work of its own


def test_nonfiling_article_is_ignored():
    assert work_key(AUSTEN, "=245  14$aThe watsons.") == work_key(AUSTEN, "=245  10$aWatsons.")


def test_240_gathers_translations_into_one_work_and_separate_expressions():
    original = convert(record_with(AUSTEN, "=245  10$aPride and prejudice."))
    german = convert(record_with(AUSTEN, "=240  10$aPride and prejudice.$lGerman", "=245  10$aStolz und Vorurteil.",
                                 "=041  1\\$ager$heng", f008="160101s2016    gw            000 1 ger  "))
    assert key(original.work) == key(german.work)
    assert key(original.expression) != key(german.expression)
    assert explain(original, german).same_work


def test_original_title_from_246_765_or_500_when_there_is_no_240():
    base = key(convert(record_with(AUSTEN, "=245  10$aPride and prejudice.")).work)
    assert work_key(AUSTEN, "=245  10$aDuma i uprzedzenie.", "=246  1\\$iTyt. oryg.:$aPride and prejudice") == base
    assert work_key(AUSTEN, "=245  10$aYlpeys ja ennakkoluulo.", "=765  0\\$aAusten, Jane.$tPride and prejudice") == base
    assert work_key(AUSTEN, "=245  10$aOrgueil et préjugés.", "=500  \\\\$aTranslation of: Pride and prejudice.") == base


def test_two_different_original_titles_leave_the_record_alone():
    k = work_key(AUSTEN, "=245  10$aJärki ja tunteet ; Ylpeys ja ennakkoluulo.",
                 "=765  0\\$tSense and sensibility", "=765  0\\$tPride and prejudice")
    assert "jarki ja tunteet" in k


def test_translation_link_in_700_i_names_the_original_work():
    base = key(convert(record_with("=100  1\\$aKivi, Aleksis,$d1834-1872.", "=245  10$aSeitsemän veljestä.")).work)
    swedish = work_key("=100  1\\$aKivi, Aleksis,$d1834-1872.", "=245  10$aSju bröder.",
                       "=700  1\\$iKäännöksen perustana:$aKivi, Aleksis,$d1834-1872.$tSeitsemän veljestä.")
    assert swedish == base


def test_selections_are_works_of_their_own():
    a = work_key(AUSTEN, "=240  10$aNovels.$kSelections", "=245  10$aNorthanger Abbey ; Lady Susan.")
    b = work_key(AUSTEN, "=240  10$aNovels.$kSelections", "=245  10$aThe works of Jane Austen.")
    c = work_key(AUSTEN, "=240  10$aNovels", "=245  10$aThe complete novels.")
    d = work_key(AUSTEN, "=240  10$aNovels", "=245  10$aJane Austen, her complete novels.")
    assert a != b
    assert c == d


def test_disagreeing_uniform_titles_fall_back_to_the_title_proper():
    k = work_key(AUSTEN, "=240  10$aSense and sensibility.$lRussian", "=240  10$aPride and prejudice.$lRussian",
                 "=245  10$aChuvstvo i chuvstvitelʹnostʹ.")
    assert "chuvstvo" in k


def test_title_only_records_need_more_than_a_bare_title():
    a = work_key("=245  00$aHuman rights :$ba reference handbook.")
    b = work_key("=245  00$aHuman rights :$bcritical concepts in political science.")
    c = work_key("=245  00$aBriton and Boer.")
    d = work_key("=245  00$aBriton and Boer.", cn="T0002")
    assert a != b
    assert c == d


def test_130_main_entry_clusters_without_creator():
    assert work_key("=130  0\\$aBible.$lEnglish.", "=245  14$aThe Holy Bible.") == \
        work_key("=130  0\\$aBible.$lEnglish.", "=245  10$aHoly Bible :$bKing James version.")


def test_explain_says_why_records_differ():
    a = convert(record_with(AUSTEN, "=245  10$aEmma."))
    b = convert(record_with("=100  1\\$aBrontë, Charlotte.", "=245  10$aEmma."))
    text = str(explain(a, b))
    assert text.startswith("different works") and "creator differs" in text and "preferred title matches" in text


def test_records_without_a_title_never_cluster():
    a = convert(record_with("=245  10$h[videorecording]", cn="A1"))
    b = convert(record_with("=245  10$h[videorecording]", cn="A2"))
    assert key(a.work) != key(b.work)


def test_a_translation_named_in_240_l_takes_its_original_key_whatever_the_language_in_l():
    """$l is the expression's language: two translations of one original share the work."""
    german = work_key(AUSTEN, "=240  10$aPride and prejudice.$lGerman", "=245  10$aStolz und Vorurteil.")
    finnish = work_key(AUSTEN, "=240  10$aPride and prejudice,$lsuomi", "=245  10$aYlpeys ja ennakkoluulo.")
    assert german == finnish == work_key(AUSTEN, "=245  10$aPride and prejudice.")


def test_a_note_that_names_no_title_leaves_the_work_key_alone():
    k = work_key(AUSTEN, "=245  10$aOrgueil et préjugés.", "=500  \\\\$aTranslated from the English by V. Leconte.")
    assert k == "work|austen jane|orgueil et prejuges"
