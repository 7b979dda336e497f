"""VQA-Med 2020 task 1 (VQA) conformance cases.

Files per case: reference.txt (`image_id|answer`, the `...-4Evaluator.txt` reference format),
questions.txt (test questions `image_id|question`, gives the test-set order), run.txt (`image_id|answer`).
"""

Q = "what is abnormal in the ct scan?"


def qs(ids):
    return "".join(f"{i}|{Q}\n" for i in ids)


def ref(pairs):
    return "".join(f"{i}|{a}\n" for i, a in pairs)


IDS3 = ["synpic54082", "synpic41325", "synpic30215"]
REF3 = ref(zip(IDS3, ["pulmonary embolism", "meningioma", "acute appendicitis"], strict=True))
PERFECT3 = REF3

CASES = []


def case(name, note, run, reference=REF3, ids=IDS3):
    CASES.append((name, {"reference.txt": reference, "questions.txt": qs(ids), "run.txt": run}, note))


case("perfect", "every answer identical to the reference: accuracy 1, BLEU 1 under both NLTK versions", PERFECT3)
case(
    "partial_words",
    "partial matches: two 1-word answers that are the last word of a 2-word reference, one exact 1-word answer;"
    " the two NLTK method0 semantics differ here",
    ref(zip(IDS3, ["embolism", "meningioma", "appendicitis"], strict=True)),
)
case(
    "one_word_exact",
    "a 1-word exact match (BLEU 1 under NLTK 3.2.5, ~0 under 3.4 because higher n-gram orders have no match)"
    " plus two wrong answers",
    ref(zip(IDS3, ["pneumothorax", "meningioma", "lipoma"], strict=True)),
)
case(
    "mixed_case",
    "reference and answers differ only in letter case: both metrics lowercase",
    ref(zip(IDS3, ["Pulmonary Embolism", "MENINGIOMA", "Acute Appendicitis"], strict=True)),
)
case(
    "leading_space_reference",
    "reference answers carry a leading space (as some real reference lines do); run answers do not",
    ref(zip(IDS3, ["pulmonary embolism", "meningioma", "acute appendicitis"], strict=True)),
    reference=ref(zip(IDS3, [" pulmonary embolism", " meningioma", "acute appendicitis"], strict=True)),
)
case(
    "leading_space_run",
    "run answers carry leading/trailing spaces (the evaluator strips the answer field)",
    ref(zip(IDS3, ["  pulmonary embolism", " meningioma ", "acute appendicitis"], strict=True)),
)
case(
    "numbers_as_words",
    "accuracy maps number words to digits ('two' == '2', 'none' == '0'); BLEU compares the tokens as written",
    ref(zip(IDS3, ["2", "none", "three lesions"], strict=True)),
    reference=ref(zip(IDS3, ["two", "0", "3 lesions"], strict=True)),
)
case(
    "hash_alternatives",
    "reference answers with '#'-separated alternatives; BLEU takes the best alternative. Accuracy depends on"
    " how the (unpublished) 2020 MS-COCO answer JSON stores the alternatives: here one answer entry per"
    " alternative (official), and the literal '#' string as a single entry (official_variant_literal_hash)",
    ref(zip(IDS3, ["nephrolithiasis", "glioblastoma multiforme", "appendicitis"], strict=True)),
    reference=ref(
        zip(IDS3, ["kidney stone#nephrolithiasis", "meningioma#glioblastoma", "acute appendicitis"], strict=True)
    ),
)
case(
    "articles_punctuation",
    "articles and punctuation: accuracy drops a/an/the and periods, BLEU drops stopwords and punctuation",
    ref(zip(IDS3, ["the pulmonary embolism.", "a meningioma", "acute-appendicitis"], strict=True)),
)
case(
    "yes_no_stopwords",
    "'no' is an NLTK stopword: 'no' vs 'no' leaves both sides empty (BLEU 1), 'no' vs 'yes' leaves the answer"
    " empty (BLEU 0)",
    ref(zip(IDS3, ["no", "no", "yes"], strict=True)),
    reference=ref(zip(IDS3, ["no", "yes", "yes"], strict=True)),
)
case(
    "two_of_three_words",
    "3-word reference, 2-word answer that is a prefix: brevity penalty and missing higher orders",
    ref(zip(IDS3, ["pulmonary embolism", "meningioma", "acute appendicitis"], strict=True)),
    reference=ref(zip(IDS3, ["acute pulmonary embolism", "meningioma", "acute appendicitis"], strict=True)),
)
case(
    "blank_line_middle",
    "a blank line between two answer lines",
    ref(zip(IDS3[:2], ["pulmonary embolism", "meningioma"], strict=True))
    + "\n"
    + ref([(IDS3[2], "acute appendicitis")]),
)
case("blank_line_end", "a blank line after the last answer line (file ends '\\n\\n')", PERFECT3 + "\n")
case(
    "whitespace_only_line",
    "a line holding only spaces between two answer lines",
    ref(zip(IDS3[:2], ["pulmonary embolism", "meningioma"], strict=True))
    + "   \n"
    + ref([(IDS3[2], "acute appendicitis")]),
)
case("utf8_bom", "the run file starts with a UTF-8 byte-order mark", "\ufeff" + PERFECT3)
case("no_final_newline", "the last line has no newline", PERFECT3.rstrip("\n"))
case("crlf_line_endings", "Windows line endings", PERFECT3.replace("\n", "\r\n"))
case(
    "wrong_order",
    "all answers present but not in test-set order",
    ref([(IDS3[1], "meningioma"), (IDS3[0], "pulmonary embolism"), (IDS3[2], "acute appendicitis")]),
)
case(
    "empty_answer",
    "an empty answer field",
    ref(zip(IDS3, ["pulmonary embolism", "", "acute appendicitis"], strict=True)),
)
case(
    "pipe_in_answer",
    "an answer containing '|' (3 tokens on the line)",
    ref(zip(IDS3, ["pulmonary embolism", "meningioma|glioma", "acute appendicitis"], strict=True)),
)
case(
    "too_few_lines",
    "the last test image has no line",
    ref(zip(IDS3[:2], ["pulmonary embolism", "meningioma"], strict=True)),
)
case("too_many_lines", "an extra line after the last test image", PERFECT3 + "synpic99999|lipoma\n")
case(
    "duplicate_image",
    "the second image's line is replaced by a repeat of the first image",
    ref([(IDS3[0], "pulmonary embolism"), (IDS3[0], "pulmonary embolism"), (IDS3[2], "acute appendicitis")]),
)
LONG_IDS = IDS3
LONG_REF = ref(
    zip(
        IDS3,
        [
            "acute pulmonary embolism right lower lobe",
            "grade iv glioblastoma multiforme left temporal lobe",
            "acute appendicitis periappendiceal fat stranding",
        ],
        strict=True,
    )
)
case(
    "long_answers",
    "answers of 4+ content words, so 4-gram precision is non-zero and NLTK 3.4 gives non-negligible BLEU: one"
    " exact, one 5-word suffix of a 7-word reference, one with a word dropped in the middle",
    ref(
        zip(
            IDS3,
            [
                "acute pulmonary embolism right lower lobe",
                "glioblastoma multiforme left temporal lobe",
                "acute appendicitis fat stranding",
            ],
            strict=True,
        )
    ),
    reference=LONG_REF,
)
