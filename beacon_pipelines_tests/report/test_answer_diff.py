from beacon_pipelines.report.answer_diff import word_diff_html


def test_identical_answers_have_no_marks():
    html, ratio = word_diff_html("The answer is 4.", "The answer is 4.")
    assert html == "The answer is 4." and ratio == 1.0


def test_a_changed_word_is_struck_and_the_new_one_marked():
    html, ratio = word_diff_html(
        "Hundreds to thousands of civilians were killed.",
        "Several hundred civilians were killed.",
    )
    assert "<del>Hundreds to thousands of </del><ins>Several hundred </ins>" in html
    assert html.endswith("civilians were killed.") and 0.5 <= ratio < 1


def test_far_apart_answers_mark_only_the_added_words():
    reference = "one two three four five six seven eight nine ten"
    html, ratio = word_diff_html(reference, "one two three alpha beta gamma delta epsilon")
    assert 0.1 <= ratio < 0.5
    assert "<del>" not in html and "<ins>alpha beta gamma delta epsilon</ins>" in html


def test_unrelated_answers_are_shown_plainly():
    html, ratio = word_diff_html("The answer is 4.", "I'm sorry, I cannot discuss that.")
    assert ratio < 0.1 and html == "I&#x27;m sorry, I cannot discuss that."


def test_both_sides_of_a_diff_are_escaped():
    html, _ = word_diff_html("a b c <script>x</script> d e f", "a b c <img src=x> d e f")
    assert "<del>&lt;script&gt;x&lt;/script&gt; </del><ins>&lt;img src=x&gt; </ins>" in html
    assert "<script" not in html and "<img" not in html
