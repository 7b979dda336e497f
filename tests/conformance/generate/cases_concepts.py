"""ImageCLEF 2020 caption / concept detection conformance cases.

Files per case: gt.txt (concepts file `image_id<TAB>CUI1;CUI2;...`), run.txt (same grammar).
"""

I1, I2, I3 = "ROCO_CLEF_41341", "ROCO_CLEF_07563", "ROCO_CLEF_18812"
GT = f"{I1}\tC0033785;C0035561\n{I2}\tC0040405;C0817096;C0024109\n{I3}\tC1306645\n"
PERFECT = GT

CASES = []


def case(name, note, run, gt=GT):
    CASES.append((name, {"gt.txt": gt, "run.txt": run}, note))


case("perfect", "run identical to the ground truth", PERFECT)
case(
    "partial",
    "image 1 half right, image 2 two of three plus one wrong, image 3 wrong",
    f"{I1}\tC0033785\n{I2}\tC0040405;C0817096;C0000726\n{I3}\tC0000726\n",
)
case(
    "empty_entry_middle",
    "'C1;;C2': an empty concept between two separators",
    PERFECT.replace("C0033785;C0035561", "C0033785;;C0035561"),
)
case("trailing_semicolon", "'C1;C2;': a trailing separator", PERFECT.replace("C0033785;C0035561", "C0033785;C0035561;"))
case(
    "two_empty_entries",
    "'C1;;C2;': two empty concepts on one line",
    PERFECT.replace("C0033785;C0035561", "C0033785;;C0035561;"),
)
case(
    "case_variant_duplicate",
    "'C0000001;c0000001'-style: the same CUI twice in different case",
    PERFECT.replace("C1306645", "C1306645;c1306645"),
)
case("exact_duplicate", "the same CUI twice, same case", PERFECT.replace("C1306645", "C1306645;C1306645"))
case(
    "spaces_around_separator",
    "'C1 ; C2' with spaces around ';' on two images: the spaces stay part of the concepts",
    f"{I1}\tC0033785 ; C0035561\n{I2}\tC0040405 ; C0817096 ; C0024109\n{I3}\tC1306645\n",
)
case(
    "spaces_issue_like",
    "spaces around or after ';' on most of six images (as a run written with '; ' or ' ; ' joins): only a"
    " line's first concept can still match, so the mean F1 is small but not 0, like the issue's 0.1228",
    f"{I1}\tC0033785 ; C0035561\n{I2}\tC0040405; C0817096; C0024109\n{I3}\tC1306645;C0000726\n"
    "ROCO_CLEF_22209\tC0041618 ; C0449900\nROCO_CLEF_30016\t C0032285\nROCO_CLEF_11110\tC0009924; C0441633; C0205091\n",
    gt=GT
    + "ROCO_CLEF_22209\tC0041618;C0449900\nROCO_CLEF_30016\tC0032285\n"
    + "ROCO_CLEF_11110\tC0009924;C0441633;C0205091\n",
)
MANY = ";".join(f"C{n:07d}" for n in range(1000, 1101))  # 101 distinct CUIs
case(
    "over_100_concepts",
    "101 concepts for one image (the 2018 evaluator's cap is 1286)",
    PERFECT.replace("C1306645", "C1306645;" + MANY),
)
MANY2 = ";".join(f"C{n:07d}" for n in range(2000, 3287))  # 1287 distinct CUIs
case("over_1286_concepts", "1287 concepts for one image", PERFECT.replace("C1306645", MANY2))
case(
    "no_cui_like_concept", "no concept looks like a CUI (another task's file)", f"{I1}\tfoo;bar\n{I2}\tbaz\n{I3}\tqux\n"
)
case("empty_concept_list", "'id<TAB>' with an empty list for one image", PERFECT.replace("C1306645", ""))
case(
    "id_only_first_line",
    "the first line holds only an image id, no tab",
    f"{I1}\n{I2}\tC0040405;C0817096;C0024109\n{I3}\tC1306645\n",
)
case(
    "id_only_later_line",
    "a later line holds only an image id, no tab",
    f"{I1}\tC0033785;C0035561\n{I2}\n{I3}\tC1306645\n",
)
case("blank_line", "a blank line between two lines", PERFECT.replace("\n", "\n\n", 1))
case("blank_line_end", "a blank line after the last line", PERFECT + "\n")
case("utf8_bom", "the run starts with a UTF-8 byte-order mark", "\ufeff" + PERFECT)
case("lowercase_cuis", "all CUIs in lower case", PERFECT.lower().replace("roco_clef", "ROCO_CLEF"))
case("unknown_image", "a line for an image that is not in the test set", PERFECT.replace(I3, "ROCO_CLEF_99999"))
case("missing_image", "one test image has no line", PERFECT.replace(f"{I3}\tC1306645\n", ""))
case("duplicate_image", "an image listed twice", PERFECT + f"{I3}\tC1306645\n")
case("three_fields", "a third tab-separated field", PERFECT.replace("C1306645", "C1306645\textra"))
case("trailing_space_concept", "a trailing space after the last CUI", PERFECT.replace("C1306645", "C1306645 "))
case(
    "gt_image_without_concepts",
    "a ground-truth image with an empty concept list is left out of the mean",
    PERFECT + "ROCO_CLEF_55555\tC0033785\n",
    gt=GT + "ROCO_CLEF_55555\t\n",
)
case(
    "all_gt_empty",
    "every ground-truth image has an empty concept list",
    f"{I1}\tC0033785\n{I2}\t\n",
    gt=f"{I1}\t\n{I2}\t\n",
)
case("crlf_line_endings", "Windows line endings", PERFECT.replace("\n", "\r\n"))
