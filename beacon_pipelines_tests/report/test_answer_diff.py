from beacon_pipelines.report.answer_diff import word_diff_html


def test_identical_answers_have_no_marks():
    assert word_diff_html("The answer is 4.", "The answer is 4.") == "The answer is 4."


def test_a_changed_word_is_struck_and_the_new_one_marked():
    html = word_diff_html(
        "Hundreds to thousands of civilians were killed.",
        "Several hundred civilians were killed.",
    )
    assert "<del>Hundreds to thousands of </del><ins>Several hundred </ins>" in html
    assert html.endswith("civilians were killed.")


def test_one_rule_however_far_apart_the_answers_are():
    reference = "one two three four five six seven eight nine ten"
    html = word_diff_html(reference, "one two three alpha beta gamma delta epsilon")
    assert "<del>four five six seven eight nine ten</del>" in html
    assert "<ins>alpha beta gamma delta epsilon</ins>" in html
    unrelated = word_diff_html("The answer is 4.", "I'm sorry, I cannot discuss that.")
    assert unrelated == (
        "<del>The answer is 4.</del><ins>I&#x27;m sorry, I cannot discuss that.</ins>"
    )


def test_both_sides_of_a_diff_are_escaped():
    html = word_diff_html("a b c <script>x</script> d e f", "a b c <img src=x> d e f")
    assert "<del>&lt;script&gt;x&lt;/script&gt; </del><ins>&lt;img src=x&gt; </ins>" in html
    assert "<script" not in html and "<img" not in html
