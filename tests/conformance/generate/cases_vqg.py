"""VQA-Med VQG conformance cases.

Files per case: reference.txt (`image_id|q1|q2|...`, the 2021 `..._vqg.txt` reference format the only
public VQG evaluator reads), run.txt (`image_id|q1|q2|...`).
"""

A, B, C = "synpic23572", "synpic16878", "synpic38585"
REF = (
    f"{A}|Is the appendix enlarged?|What calcified deposits are seen in the CT?\n"
    f"{B}|Which blood vessels demonstrate thickening?|Is a pericardial effusion present?\n"
    f"{C}|What part of the spine is shown in the image?\n"
)
PERFECT = (
    f"{A}|Is the appendix enlarged?\n"
    f"{B}|Is a pericardial effusion present?\n"
    f"{C}|What part of the spine is shown in the image?\n"
)

CASES = []


def case(name, note, run, reference=REF):
    CASES.append((name, {"reference.txt": reference, "run.txt": run}, note))


case(
    "issue_max_over_pairs",
    "issue probe: references [q1, q2], run 'id|q1|what is shown in this image?': the evaluator keeps the best"
    " (generated, reference) pair",
    f"{A}|Is the appendix enlarged?|what is shown in this image?\n",
    reference=f"{A}|Is the appendix enlarged?|What calcified deposits are seen in the CT?\n",
)
case("perfect_one_each", "one exact generated question per image", PERFECT)
case(
    "partial_overlap",
    "generated questions share some words with a reference (BLEU between 0 and 1; NLTK versions differ)",
    f"{A}|Is the appendix normal?\n{B}|Which vessels are thickened?\n{C}|What part of the spine is visible?\n",
)
case(
    "empty_between_pipes",
    "'q1||q2': an empty question between two pipes",
    f"{A}|Is the appendix enlarged?||What is seen in the CT?\n"
    f"{B}|Is a pericardial effusion present?\n{C}|What part of the spine is shown in the image?\n",
)
case(
    "trailing_pipe",
    "a trailing '|' after the last question",
    f"{A}|Is the appendix enlarged?|\n{B}|Is a pericardial effusion present?|\n"
    f"{C}|What part of the spine is shown in the image?|\n",
)
case(
    "only_empty_question",
    "'id|' with nothing after the pipe",
    f"{A}|\n{B}|Is a pericardial effusion present?\n{C}|What part of the spine is shown in the image?\n",
)
case("blank_line_middle", "a blank line between two lines", PERFECT.replace("\n", "\n\n", 1))
case("blank_line_end", "a blank line after the last line", PERFECT + "\n")
case("whitespace_only_line", "a line holding only spaces", PERFECT.replace("\n", "\n   \n", 1))
case("utf8_bom", "the run starts with a UTF-8 byte-order mark", "\ufeff" + PERFECT)
case(
    "any_order",
    "lines not in reference order",
    f"{C}|What part of the spine is shown in the image?\n"
    f"{A}|Is the appendix enlarged?\n{B}|Is a pericardial effusion present?\n",
)
case(
    "missing_image",
    "one reference image has no line",
    f"{A}|Is the appendix enlarged?\n{B}|Is a pericardial effusion present?\n",
)
case("unknown_image", "a line for an image that is not in the reference", PERFECT.replace(C, "synpic99999"))
case(
    "duplicate_image",
    "an image listed twice and another missing (same line count)",
    f"{A}|Is the appendix enlarged?\n{A}|Is the appendix normal?\n{C}|What part of the spine is shown in the image?\n",
)
case("too_many_lines", "an extra line after all reference images", PERFECT + f"{A}|Is the appendix normal?\n")
case(
    "many_generated_best_in_middle",
    "five generated questions for one image, the exact one third; per-image score is the max over pairs",
    f"{A}|What is this?|Is this normal?|Is the appendix enlarged?|Where is the lesion?|Is there fat stranding?\n"
    f"{B}|Which organ is shown?\n{C}|What is shown?\n",
)
case(
    "stopword_only_question",
    "a generated question made only of stopwords ('what is this?') against non-empty references: 0",
    f"{A}|What is this?\n{B}|Is a pericardial effusion present?\n{C}|What part of the spine is shown in the image?\n",
)
case(
    "case_and_punctuation",
    "upper case and no question mark: lowercasing and punctuation removal make it exact",
    f"{A}|IS THE APPENDIX ENLARGED\n{B}|is a pericardial effusion present\n"
    f"{C}|WHAT PART OF THE SPINE IS SHOWN IN THE IMAGE\n",
)
case(
    "reference_trailing_pipe",
    "the reference line ends with '|' (an empty reference question): a stopword-only generated question"
    " matches the empty reference with score 1 (both sides empty)",
    f"{A}|What is this?\n",
    reference=f"{A}|Is the appendix enlarged?|\n",
)
case(
    "reference_repeated_id",
    "the reference lists the same image on two lines (`id|q` per line, the 2020 VQG train/val layout): the"
    " evaluator keeps only the last line's questions",
    f"{A}|Is the appendix enlarged?\n",
    reference=f"{A}|Is the appendix enlarged?\n{A}|What calcified deposits are seen in the CT?\n",
)
