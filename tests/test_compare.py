"""Behaviour of metadatabronn.marc.compare: pairing, counting, aggregation and the report."""

from __future__ import annotations

import json

import pytest
from pymarc import Field, Indicators, Record, Subfield

from metadatabronn.marc.compare import RecordDiff, TagCounts, compare, normal
from metadatabronn.marc.fidelity import Fidelity


def data(tag: str, *pairs: str, ind: str = "  ") -> Field:
    """A data field from alternating codes and values: data("245", "a", "Title :")."""
    subfields = [Subfield(code, value) for code, value in zip(pairs[::2], pairs[1::2])]
    return Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=subfields)


def record(*fields: Field) -> Record:
    result = Record()
    result.add_field(*fields)
    return result


def sample(control: str = "rec1") -> Record:
    return record(
        Field(tag="001", data=control),
        Field(tag="008", data="160101s2016    enk           000 0 eng d"),
        data("020", "a", "9780000000002"),
        data("100", "a", "Smith, John,", "d", "1900-1980.", ind="1 "),
        data("245", "a", "Title :", "b", "subtitle /", "c", "by John Smith.", ind="10"),
        data("264", "a", "London :", "b", "Publisher,", "c", "[2016]", ind=" 1"),
        data("700", "a", "Doe, Jane.", ind="1 "),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("London :", "London"),
        ("1899.", "1899"),
        ("Smith, John,  1900-1980.", "Smith, John, 1900-1980"),
        (" = Parallel title /", "Parallel title"),
        ("[2016]", "[2016]"),
        ("[2016].", "[2016]"),
        ("(pbk.) ;", "(pbk.)"),
        ("a\t\n b", "a b"),
        (" ; : ", ""),
    ],
)
def test_normal(value: str, expected: str) -> None:
    assert normal(value) == expected


def test_identical_records_are_fully_kept() -> None:
    diff = compare(sample(), sample(), number=3)
    assert diff.control_number == "rec1"
    assert diff.number == 3
    assert diff.lost == diff.changed == diff.added == []
    assert diff.score == 0
    assert diff.tags["245"] == TagCounts(1, 1, 1, 3, 3, 3)
    assert diff.tags["001"] == TagCounts(1, 1, 1, 1, 1, 1)

    fidelity = Fidelity()
    fidelity.add(diff)
    assert fidelity.rates() == {"fields_kept": 1.0, "subfields_exact": 1.0, "subfields_modulo": 1.0,
                                "subfields_identical_nfc": 1.0}
    assert fidelity.totals() == TagCounts(7, 7, 7, 12, 12, 12)
    assert fidelity.worst == []


def test_punctuation_only_differences_are_modulo_not_exact() -> None:
    original = record(data("245", "a", "Title :", "b", "subtitle /", "c", "by X.", ind="10"))
    output = record(data("245", "a", "Title", "b", "subtitle", "c", "by X.", ind="10"))
    diff = compare(original, output)
    assert diff.tags["245"] == TagCounts(1, 1, 1, 3, exact=1, modulo=3)
    assert diff.changed == []
    assert diff.score == 0


def test_control_field_whitespace_is_modulo() -> None:
    diff = compare(record(Field(tag="008", data="abc  ")), record(Field(tag="008", data="abc")))
    assert diff.tags["008"] == TagCounts(1, 1, 1, 1, exact=0, modulo=1)
    assert diff.changed == []

    diff = compare(record(Field(tag="008", data="abc")), record(Field(tag="008", data="abd")))
    assert diff.tags["008"] == TagCounts(1, 1, 1, 1, exact=0, modulo=0)
    assert diff.changed == [("=008  abc", "=008  abd")]
    assert diff.score == 1


def test_dropped_field_is_lost() -> None:
    original = sample()
    output = sample()
    output.remove_field(output.get_fields("700")[0])
    diff = compare(original, output)
    assert diff.lost == ["=700  1\\$aDoe, Jane."]
    assert diff.tags["700"] == TagCounts(1, 0, 0, 1, 0, 0)
    assert diff.score == 10 + 1

    fidelity = Fidelity()
    fidelity.add(diff)
    assert fidelity.totals().fields_in == 7
    assert fidelity.totals().fields_kept == 6
    assert fidelity.rates()["fields_kept"] == pytest.approx(6 / 7)
    assert fidelity.rates()["subfields_modulo"] == pytest.approx(11 / 12)


def test_dropped_control_field_is_lost() -> None:
    diff = compare(sample(), record(*sample().get_fields("001")))
    assert [line[:4] for line in diff.lost] == ["=008", "=020", "=100", "=245", "=264", "=700"]
    assert diff.tags["008"] == TagCounts(1, 0, 0, 1, 0, 0)
    assert diff.tags["001"] == TagCounts(1, 1, 1, 1, 1, 1)


def test_repeated_fields_pair_by_content_not_position() -> None:
    original = record(
        data("700", "a", "Doe, Jane.", ind="1 "),
        data("700", "a", "Roe, Richard,", "e", "editor."),
    )
    output = record(
        data("700", "a", "Roe, Richard", "e", "editor"),
        data("700", "a", "Doe, Jane", ind="1 "),
    )
    diff = compare(original, output)
    assert diff.lost == diff.changed == diff.added == []
    assert diff.tags["700"] == TagCounts(2, 2, 2, 3, exact=0, modulo=3)


def test_pairing_ties_take_the_earliest_output() -> None:
    original = record(data("650", "a", "Cats."))
    output = record(data("650", "a", "Dogs."), data("650", "a", "Birds."))
    diff = compare(original, output)
    assert diff.changed == [("=650  \\\\$aCats.", "=650  \\\\$aDogs.")]
    assert diff.added == ["=650  \\\\$aBirds."]
    assert diff.tags["650"] == TagCounts(1, 2, 1, 1, 0, 0)


def test_880_pairs_by_linked_tag() -> None:
    original = record(
        data("880", "6", "245-01/$1", "a", "Title in script :", ind="10"),
        data("880", "6", "100-02/$1", "a", "Name in script,", ind="1 "),
    )
    # The output lists them the other way round and the 245 copy differs in every value but
    # the link, so only the linked tag can tell the two apart.
    output = record(
        data("880", "6", "100-02/$1", "a", "Name in script", ind="1 "),
        data("880", "6", "245-01/$1", "a", "Other", ind="10"),
    )
    diff = compare(original, output)
    assert diff.lost == diff.added == []
    assert diff.changed == [
        ("=880  10$6245-01/$1$aTitle in script :", "=880  10$6245-01/$1$aOther")
    ]
    assert diff.tags["880"] == TagCounts(2, 2, 2, 4, exact=2, modulo=3)


def test_880_with_no_counterpart_for_its_linked_tag_is_lost() -> None:
    original = record(data("880", "6", "245-01/$1", "a", "Title"))
    output = record(data("880", "6", "246-01/$1", "a", "Title"))
    diff = compare(original, output)
    assert diff.lost == ["=880  \\\\$6245-01/$1$aTitle"]
    assert diff.added == ["=880  \\\\$6246-01/$1$aTitle"]
    assert diff.tags["880"] == TagCounts(1, 1, 0, 2, 0, 0)


def test_missing_subfield_counts_as_neither() -> None:
    original = record(data("264", "a", "London :", "b", "Publisher,", "c", "2016.", ind=" 1"))
    output = record(data("264", "a", "London :", "c", "2016", ind=" 1"))
    diff = compare(original, output)
    assert diff.tags["264"] == TagCounts(1, 1, 1, 3, exact=1, modulo=2)
    assert diff.changed == [
        ("=264  \\1$aLondon :$bPublisher,$c2016.", "=264  \\1$aLondon :$c2016")
    ]
    assert diff.score == 1


def test_repeated_subfields_pair_by_occurrence() -> None:
    original = record(data("650", "a", "Cats", "x", "History", "x", "Sources."))
    output = record(data("650", "a", "Cats", "x", "Sources", "x", "History"))
    diff = compare(original, output)
    assert diff.tags["650"].modulo == 1
    assert diff.score == 2


def test_indicator_difference_is_changed_but_not_counted() -> None:
    original = record(data("245", "a", "Title.", ind="10"))
    output = record(data("245", "a", "Title.", ind="14"))
    diff = compare(original, output)
    assert diff.tags["245"] == TagCounts(1, 1, 1, 1, 1, 1)
    assert diff.changed == [("=245  10$aTitle.", "=245  14$aTitle.")]
    assert diff.score == 0


def test_added_subfield_is_changed() -> None:
    original = record(data("245", "a", "Title."))
    output = record(data("245", "a", "Title.", "h", "[text]"))
    diff = compare(original, output)
    assert diff.tags["245"] == TagCounts(1, 1, 1, 1, 1, 1)
    assert len(diff.changed) == 1


def test_added_field_of_a_new_tag_counts_out_only() -> None:
    diff = compare(sample(), record(*sample().fields, data("336", "a", "text")))
    assert diff.added == ["=336  \\\\$atext"]
    assert diff.tags["336"] == TagCounts(0, 1, 0, 0, 0, 0)
    assert diff.score == 0


def test_fidelity_sums_records_and_rates_key_tags() -> None:
    fidelity = Fidelity()
    fidelity.add(compare(sample("a"), sample("a"), number=1))
    damaged = sample("b")
    damaged.remove_field(damaged.get_fields("100")[0])
    damaged.add_field(data("110", "a", "Some body."))
    fidelity.add(compare(sample("b"), damaged, number=2))
    fidelity.add(
        compare(record(data("111", "a", "Meeting.")), record(data("111", "a", "Meeting")), 3)
    )

    assert fidelity.records == 3
    assert list(fidelity.per_tag()) == sorted(fidelity.per_tag())
    assert fidelity.per_tag()["100"] == TagCounts(2, 1, 1, 4, 2, 2)
    assert fidelity.per_tag()["110"] == TagCounts(0, 1, 0, 0, 0, 0)
    # 100: 2 of 4 subfields, 111: 1 of 1; 245 was never touched.
    assert fidelity.rate_for(["1XX"]) == pytest.approx(3 / 5)
    assert fidelity.rate_for(["100"]) == pytest.approx(2 / 4)
    assert fidelity.rate_for(["245", "020"]) == 1.0
    assert fidelity.rate_for(["9XX"]) == 1.0
    assert fidelity.rate_for("260/264") == 1.0
    assert fidelity.to_json()["key_tags"]["1XX"] == pytest.approx(3 / 5)


def diff_with(number: int, lost: int = 0, missed: int = 0) -> RecordDiff:
    diff = RecordDiff(control_number=f"c{number}", number=number)
    diff.lost = [f"=500  \\\\$alost {i}" for i in range(lost)]
    diff.tags["500"] = TagCounts(subfields_in=missed)
    return diff


def test_worst_keeps_the_highest_scores_then_lowest_numbers() -> None:
    fidelity = Fidelity(worst=3)
    for diff in (
        diff_with(1, missed=2),
        diff_with(2),
        diff_with(3, lost=1),
        diff_with(4, missed=5),
        diff_with(5, missed=2),
        diff_with(6, missed=1),
        diff_with(7, missed=5),
    ):
        fidelity.add(diff)
    assert [(d.number, d.score) for d in fidelity.worst] == [(3, 10), (4, 5), (7, 5)]
    assert fidelity.records == 7

    fidelity = Fidelity(worst=3)
    for number in (9, 2, 5, 1):
        fidelity.add(diff_with(number, missed=1))
    assert [d.number for d in fidelity.worst] == [1, 2, 5]


def test_worst_skips_perfect_records() -> None:
    fidelity = Fidelity()
    fidelity.add(compare(sample(), sample(), 1))
    assert fidelity.worst == []
    assert fidelity.to_json()["worst"] == []


def test_empty_fidelity_rates_are_one() -> None:
    fidelity = Fidelity()
    assert fidelity.rates() == {"fields_kept": 1.0, "subfields_exact": 1.0, "subfields_modulo": 1.0,
                                "subfields_identical_nfc": 1.0}
    assert fidelity.rate_for(["245"]) == 1.0
    assert "records" in fidelity.text()


def damaged_fidelity() -> Fidelity:
    fidelity = Fidelity()
    output = sample("ocm42")
    output.remove_field(output.get_fields("700")[0])
    output.get_fields("245")[0].subfields[0] = Subfield("a", "Other title")
    output.add_field(data("336", "a", "text"))
    fidelity.add(compare(sample("ocm42"), output, number=17))
    fidelity.add(compare(sample("ocm43"), sample("ocm43"), number=18))
    return fidelity


def test_to_json_is_plain() -> None:
    report = damaged_fidelity().to_json()
    assert json.loads(json.dumps(report)) == report
    assert report["records"] == 2
    assert set(report["key_tags"]) == {"020", "1XX", "245", "260/264"}
    assert report["key_tags"]["245"] == pytest.approx(5 / 6)
    assert report["tags"]["700"] == {
        "fields_in": 2,
        "fields_out": 1,
        "fields_kept": 1,
        "subfields_in": 2,
        "exact": 1,
        "modulo": 1,
        "identical": 1,
        "punctuation": 0,
        "case_space": 0,
        "content": 0,
        "lost": 1,
        "added": 0,
    }
    # the damage, classified: a 700 lost, a 245 $a whose words changed, a 336 added
    assert report["classes"]["lost"] == 1 and report["classes"]["content"] == 1
    assert report["added_by_tag"] == {"336": 1}
    (worst,) = report["worst"]
    assert worst["control_number"] == "ocm42"
    assert worst["number"] == 17
    assert worst["score"] == 10 + 1 + 1
    assert worst["lost"] == ["=700  1\\$aDoe, Jane."]
    assert worst["changed"] == [
        [
            "=245  10$aTitle :$bsubtitle /$cby John Smith.",
            "=245  10$aOther title$bsubtitle /$cby John Smith.",
        ]
    ]
    assert worst["added"] == ["=336  \\\\$atext"]


def test_text_report() -> None:
    text = damaged_fidelity().text()
    # 14 fields in, 13 kept; 24 subfields, 22 modulo-identical.
    assert "fields kept        92.86 %  (13 / 14)" in text
    assert "subfields modulo   91.67 %  (22 / 24)" in text
    assert "245                83.33 %  (5 / 6)" in text
    assert "#17  ocm42" in text
    assert "- =700  1\\$aDoe, Jane." in text
    assert "- =245  10$aTitle :$bsubtitle /$cby John Smith." in text
    assert "+ =245  10$aOther title$bsubtitle /$cby John Smith." in text
    assert "+ =336  \\\\$atext" in text
    assert "ocm43" not in text
    assert "#17" not in damaged_fidelity().text(limit_worst=0)


def test_text_never_rounds_up_to_a_full_score() -> None:
    fidelity = Fidelity()
    fidelity.add(diff_with(1, missed=1))
    for _ in range(3):
        diff = RecordDiff(control_number="x", number=2)
        diff.tags["500"] = TagCounts(subfields_in=10_000, modulo=10_000)
        fidelity.add(diff)
    assert fidelity.rates()["subfields_modulo"] < 1.0
    assert "subfields modulo   99.99 %  (30,000 / 30,001)" in fidelity.text()


def test_text_marks_tags_without_original_subfields() -> None:
    fidelity = Fidelity()
    fidelity.add(compare(record(), record(data("336", "a", "text"))))
    (row,) = [line for line in fidelity.text().splitlines() if line.startswith("336")]
    assert row.split() == ["336", "0", "1", "0", "-", "-"]


def test_added_fields_keep_output_order() -> None:
    output = record(data("700", "a", "B"), data("500", "a", "A"), data("700", "a", "C"))
    diff = compare(record(), output)
    assert diff.added == ["=700  \\\\$aB", "=500  \\\\$aA", "=700  \\\\$aC"]


def test_merging_fidelities_equals_adding_every_diff_to_one() -> None:
    """Worker processes each measure a batch; the merged result must be the same as one pass."""
    diffs = [diff_with(n, lost=n % 2, missed=n % 3) for n in range(1, 12)]
    whole = Fidelity(worst=4)
    for diff in diffs:
        whole.add(diff)
    left, right = Fidelity(worst=4), Fidelity(worst=4)
    for diff in diffs[:5]:
        left.add(diff)
    for diff in diffs[5:]:
        right.add(diff)
    left.merge(right)
    assert left.records == whole.records == 11
    assert left.per_tag() == whole.per_tag()
    assert [(d.number, d.score) for d in left.worst] == [(d.number, d.score) for d in whole.worst]


def test_each_subfield_is_classified_once() -> None:
    """Punctuation, case and spacing, changed words, lost and added are told apart, after
    Unicode NFC, and every subfield of the original falls in exactly one class."""
    original = record(
        data("245", "a", "Title :", "b", "subtitle /", "c", "by John Smith."),
        data("300", "a", "6 pl.", "c", "24 cm."),
        data("700", "a", "Storm, Theodor,", "d", "1817-1888."),
        data("710", "a", "Lee and Shepard."),
        data("500", "a", "Cafe\u0301 society."))
    output = record(
        data("245", "a", "Title", "b", "subtitle /", "c", "by John Smith."),
        data("300", "a", "6 pl ;", "c", "24 cm.", "e", "map"),
        data("700", "a", "Storm,Theodor,", "d", "1817-1888."),
        data("710", "a", "Lee & Shepard."),
        data("500", "a", "Caf\u00e9 society."))
    diff = compare(original, output)
    f = Fidelity()
    f.add(diff)
    classes = f.classes()
    assert classes == {"identical": 5, "punctuation": 2, "case_space": 1, "content": 1, "lost": 0, "added": 1}
    assert sum(v for k, v in classes.items() if k != "added") == f.totals().subfields_in
