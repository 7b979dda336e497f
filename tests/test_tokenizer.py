"""The offline tokenizer: made from a task's files by `baselines tokenizer`, carried inside every checkpoint as
plain data, rebuilt from there when its folder is gone, and refused when a checkpoint's entry is not plain data."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.checkpoints import RECORD_KEY, load_checkpoint
from baselines.cli import main
from baselines.runfiles.provenance import content_sha256, provenance_path
from baselines.text import packed as packed_module
from baselines.text.packed import (
    MAX_TOKENIZER_BYTES,
    TOKENIZER_KEY,
    PackedTokenizer,
    PackedTokenizerError,
    pack_tokenizer,
)
from baselines.text.tokenizers import load_tokenizer, train_word_tokenizer
from tasks import KITS

Compose = Callable[..., DictConfig]

CAPTIONS = "ROCO_1\tX-ray showing a cavity\nROCO_2\tCT scan of the chest\n"
QA_PAIRS = "synpic1|what is abnormal in the ct scan?|pneumothorax\nsynpic2|is this image normal?|yes\n"
VQG = "synpic3|what organ is shown?|which plane is this?\nsynpic4|where is the lesion?\n"


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {"captions": CAPTIONS, "qa": QA_PAIRS, "vqg": VQG}
    for name, text in files.items():
        (tmp_path / f"{name}.txt").write_text(text)
    return {name: tmp_path / f"{name}.txt" for name in files}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"" for p in sorted(root.rglob("*"))}


# ---- baselines tokenizer --------------------------------------------------------------------------------------


def test_tokenizer_command_learns_each_files_texts_with_its_tasks_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path)
    out = tmp_path / "tok"
    assert main(["tokenizer", "--from", *map(str, files.values()), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 captions" in printed and "2 questions" in printed and "3 questions" in printed
    assert f"model.tokenizer={out}" in printed
    tokenizer = load_tokenizer(out)
    vocabulary = tokenizer.get_vocab()
    # captions, the questions of the QA pairs and every VQG question; not the ids, not the answers
    for word in ("x-ray", "cavity", "chest", "abnormal", "normal?", "organ", "plane", "lesion?"):
        assert word in vocabulary, word
    for absent in ("pneumothorax", "roco_1", "synpic1"):
        assert absent not in vocabulary, absent
    ids = tokenizer("X-ray of the chest")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == "x-ray of the chest"
    # the same files give the same tokenizer as the library function the docs named before
    train_word_tokenizer(["X-ray showing a cavity", "CT scan of the chest"], tmp_path / "by-hand")
    assert main(["tokenizer", "--from", str(files["captions"]), "--out", str(tmp_path / "cli")]) == 0
    assert _snapshot(tmp_path / "cli") == _snapshot(tmp_path / "by-hand")


def test_tokenizer_command_learns_answers_only_when_asked(tmp_path: Path) -> None:
    files = _files(tmp_path)
    assert main(["tokenizer", "--from", str(files["qa"]), "--out", str(tmp_path / "tok"), "--answers"]) == 0
    assert "pneumothorax" in load_tokenizer(tmp_path / "tok").get_vocab()


def test_tokenizer_command_keeps_words_seen_min_frequency_times(tmp_path: Path) -> None:
    files = _files(tmp_path)
    assert main(["tokenizer", "--from", str(files["qa"]), "--out", str(tmp_path / "tok"), "--min-frequency", "2"]) == 0
    vocabulary = load_tokenizer(tmp_path / "tok").get_vocab()
    assert "is" in vocabulary and "abnormal" not in vocabulary  # "is" is in both questions, "abnormal" in one


def test_tokenizer_command_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(tmp_path)
    out = tmp_path / "tok"
    assert main(["tokenizer", "--from", str(files["captions"]), "--out", str(out)]) == 0
    before = _snapshot(out)
    assert main(["tokenizer", "--from", str(files["vqg"]), "--out", str(out)]) == 2
    assert "tok: not replaced: it exists (--force replaces a tokenizer folder)" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert main(["tokenizer", "--from", str(files["vqg"]), "--out", str(out), "--force"]) == 0
    assert "organ" in load_tokenizer(out).get_vocab() and "cavity" not in load_tokenizer(out).get_vocab()
    # --force replaces a tokenizer folder only: never a folder of other files
    before = _snapshot(tmp_path)
    assert main(["tokenizer", "--from", str(files["vqg"]), "--out", str(tmp_path), "--force"]) == 2
    assert "captions.txt" in capsys.readouterr().err and _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions.txt", "qa.txt", "tok", "vqg.txt"]


def test_tokenizer_command_writes_nothing_on_bad_input_or_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_text("ROCO_1\tfine caption\nROCO_2 a line without its tab\n")
    assert main(["tokenizer", "--from", str(files["qa"]), str(bad), "--out", str(tmp_path / "tok")]) == 2
    assert re.search(r"bad\.txt:2: 1 tab-separated fields; expected 'image_id<TAB>caption'", capsys.readouterr().err)
    assert not (tmp_path / "tok").exists()

    def half_written(texts: object, out_dir: Path, **_: object) -> None:
        (Path(out_dir) / "tokenizer.json").write_text("{")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("baselines.text.tokenizers.train_word_tokenizer", half_written)
    assert main(["tokenizer", "--from", str(files["qa"]), "--out", str(tmp_path / "tok")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "captions.txt", "qa.txt", "vqg.txt"]


# ---- packing --------------------------------------------------------------------------------------------------


def test_a_model_folder_given_as_its_tokenizer_carries_its_tokenizer_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    train_word_tokenizer(["a cavity in the lung"], folder)
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    packed = pack_tokenizer(str(folder))
    assert packed is not None
    assert sorted(packed.files) == ["config.json", "tokenizer.json", "tokenizer_config.json"]
    assert all(isinstance(text, str) for text in packed.files.values())


def test_a_folder_that_cannot_be_carried_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert pack_tokenizer("bert-base-uncased") is None  # a hub name: nothing local to carry
    folder = tmp_path / "sentencepiece"
    folder.mkdir()
    (folder / "spiece.model").write_bytes(b"\x0a\x0b binary")
    with caplog.at_level(logging.WARNING):
        assert pack_tokenizer(str(folder)) is None
    assert "will not carry the tokenizer" in caplog.text and "holds none of" in caplog.text


# ---- a checkpoint carries its tokenizer ------------------------------------------------------------------------

TINY = {
    "caption": (*KITS["caption"].tiny, "data.loader.batch_size=4", "trainer.max_epochs=1"),
    "vqa": (*KITS["vqa"].tiny, "data.loader.batch_size=4", "trainer.max_epochs=1"),
}
TOKENIZER = {"caption": "medcaption/tokenizer", "vqa": "vqamed/tokenizer"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_predicting_from_a_checkpoint_alone_rebuilds_its_tokenizer(
    name: str, demo_cfg: Compose, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = [f"experiment={name}", f"+demo={name}", f"paths.root_dir={tmp_path}", *TINY[name]]
    instantiate(demo_cfg(name, *TINY[name]).synthetic)
    from baselines.pipeline import run

    summary = run(demo_cfg(name, *TINY[name], output="train"), overrides)
    folder = tmp_path / "data" / TOKENIZER[name]
    checkpoint = load_checkpoint(summary["checkpoint"])
    carried = checkpoint[TOKENIZER_KEY]
    assert carried["source"] == str(folder) and sorted(carried["files"]) == ["tokenizer.json", "tokenizer_config.json"]
    assert carried["files"]["tokenizer.json"] == (folder / "tokenizer.json").read_text()
    shutil.rmtree(folder)  # moved away, deleted, another machine

    out = tmp_path / "predicted"
    argv = [f"ckpt_path={summary['checkpoint']}", f"paths.root_dir={tmp_path}", f"hydra.run.dir={out}"]
    assert main(["predict", *argv, f"paths.output_dir={out}"]) == 0
    run_file = Path(summary["run_file"])
    assert (out / "runs" / run_file.name).read_bytes() == run_file.read_bytes()
    (rebuilt,) = out.glob("tokenizer-*")
    assert _snapshot(rebuilt) == {k: v.encode() for k, v in carried["files"].items()}
    provenance = json.loads(provenance_path(out / "runs" / run_file.name).read_text())
    assert provenance["config"]["model"]["tokenizer"] == str(rebuilt)  # what the prediction used, on record
    assert provenance["weights_sha256"]["model.tokenizer"] == content_sha256(rebuilt)

    # another tokenizer at the configured place: the one the weights were trained with is still used, and said
    train_word_tokenizer(["completely different words here"], folder)
    again = tmp_path / "again"
    capsys.readouterr()
    assert main(["predict", *argv[:2], f"hydra.run.dir={again}", f"paths.output_dir={again}"]) == 0
    said = "".join(capsys.readouterr())  # Hydra's own logging configuration prints it
    assert f"model.tokenizer={folder} differs from the tokenizer the checkpoint was trained with (tokenizer.json)" in (
        said
    )
    assert (again / "runs" / run_file.name).read_bytes() == run_file.read_bytes()


def test_the_same_folder_is_used_in_place_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "tok"
    train_word_tokenizer(["a cavity"], folder)
    packed = pack_tokenizer(str(folder))
    assert packed is not None
    out = tmp_path / "out"
    assert packed_module.tokenizer_folder(packed, str(folder), out) == str(folder)
    assert not out.exists()
    shutil.rmtree(folder)
    written = Path(packed_module.tokenizer_folder(packed, str(folder), out))
    assert written.parent == out and written.name == f"tokenizer-{packed.sha256[:12]}"
    assert load_tokenizer(written).get_vocab() == load_tokenizer(written).get_vocab()
    assert packed_module.tokenizer_folder(packed, str(folder), out) == str(written)  # reused, not rewritten


# ---- a hostile tokenizer entry ---------------------------------------------------------------------------------

_GOOD = {"tokenizer.json": "{}", "tokenizer_config.json": "{}"}
HOSTILE: dict[str, tuple[object, str]] = {
    "parent folder": (
        {"format": 1, "source": "x", "files": {"../evil.json": "{}"}},
        "the file name '../evil.json' is not one of added_tokens.json",
    ),
    "absolute path": ({"format": 1, "source": "x", "files": {"/tmp/tokenizer.json": "{}"}}, "is not one of"),
    "sub folder": ({"format": 1, "source": "x", "files": {"a/tokenizer.json": "{}"}}, "is not one of"),
    "dot dot": ({"format": 1, "source": "x", "files": {"..": "{}"}}, "'..' is not one of"),
    "code file": ({"format": 1, "source": "x", "files": {"evil.py": "import os"}}, "'evil.py' is not one of"),
    "bytes": (
        {"format": 1, "source": "x", "files": {"tokenizer.json": b"{}"}},
        "the file tokenizer.json holds a bytes, not text",
    ),
    "tensor": (
        {"format": 1, "source": "x", "files": {"vocab.txt": torch.zeros(3)}},
        "the file vocab.txt holds a Tensor, not text",
    ),
    "list of files": ({"format": 1, "source": "x", "files": [["tokenizer.json", "{}"]]}, "not a non-empty mapping"),
    "no files": ({"format": 1, "source": "x", "files": {}}, "not a non-empty mapping"),
    "not a mapping": ("tokenizer.json", "refused: a str, not a mapping"),
    "extra key": ({"format": 1, "source": "x", "files": _GOOD, "post": "x"}, "expected 'files', 'format', 'source'"),
    "format": ({"format": "1", "source": "x", "files": _GOOD}, "format '1'; this version reads 1"),
    "format tensor": ({"format": torch.ones(2), "source": "x", "files": _GOOD}, "format 'tensor([1., 1.])';"),
    "source": ({"format": 1, "source": 7, "files": _GOOD}, "its source is not a string"),
    "oversized": ({"format": 1, "source": "x", "files": {"vocab.txt": "w\n" * 600}}, "over 1,024 bytes, the cap"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_tokenizer_entry_is_refused_with_nothing_written(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packed_module, "MAX_TOKENIZER_BYTES", 1024)  # the real cap, 64 MiB: below
    entry, why = HOSTILE[case]
    path = tmp_path / "hostile.ckpt"
    record = {"task": "caption", "overrides": ["experiment=caption", "+demo=caption"]}
    torch.save({"state_dict": {}, RECORD_KEY: record, TOKENIZER_KEY: entry}, path)
    before = _snapshot(tmp_path)
    out = tmp_path / "out"
    argv = ["predict", f"ckpt_path={path}", f"hydra.run.dir={out}", f"paths.output_dir={out}"]
    assert main([*argv, f"paths.root_dir={tmp_path}"]) == 2
    error = capsys.readouterr().err
    assert (
        f"{path}: its tokenizer entry is refused: " in error
        and why in error
        and "Nothing was run, read or written" in error
    )
    assert _snapshot(tmp_path) == before  # no output folder, no tokenizer folder, nothing else


def test_the_real_size_cap_refuses_an_oversized_tokenizer() -> None:
    files = {"tokenizer.json": "x" * (MAX_TOKENIZER_BYTES // 2), "vocab.txt": "y" * (MAX_TOKENIZER_BYTES // 2 + 1)}
    with pytest.raises(PackedTokenizerError, match="over 67,108,864 bytes"):
        PackedTokenizer.from_data({"format": 1, "source": "x", "files": files})
    files["vocab.txt"] = "y" * (MAX_TOKENIZER_BYTES // 2)
    assert PackedTokenizer.from_data({"format": 1, "source": "x", "files": files}).files == files
