"""Option files: safe YAML, duplicate keys, documented sections only, typed and ranged values."""

from __future__ import annotations

import pytest

from seqcnn.config import check_value, load_options, option_kinds
from seqcnn.exceptions import ConfigError, InputError


def _load(tmp_path, text, name="o.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_options(path)


def _error(tmp_path, text) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_options(path)
    message = str(info.value)
    assert message.startswith(f"{path}") and "\n" not in message, message
    return message


def test_flat_and_sectioned_options_give_the_same_values(tmp_path):
    flat = _load(
        tmp_path,
        "train: a.tsv\nepochs: 3\nbatch-size: 16\nlr: 1e-3\nnegatives: shuffle\n"
        "valid_chroms: [chr8, 2]\nmodel: deepbind\nmodel_args: {n_filters: 8}\n",
    )
    nested = _load(
        tmp_path,
        "model:\n  name: deepbind\n  args:\n    n_filters: 8\n"
        "training:\n  epochs: 3\n  batch_size: 16\n  lr: 0.001\n"
        "data:\n  train: a.tsv\n  negatives: shuffle\n  valid_chroms: [chr8, '2']\n",
        "n.yaml",
    )
    expected = {
        "train": "a.tsv",
        "epochs": 3,
        "batch_size": 16,
        "lr": 0.001,
        "negatives": "shuffle",
        "valid_chroms": ["chr8", "2"],
        "model": "deepbind",
        "model_args": {"n_filters": 8},
    }
    assert flat.values == expected and nested.values == expected
    assert flat.lines["lr"] == 4 and nested.lines["lr"] == 8


def test_empty_file_has_no_options(tmp_path):
    assert _load(tmp_path, "# nothing\n").values == {}


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("epochs: 3\nlr: 0.1\nepochs: 4\n", "line 3: 'epochs' given twice (first on line 1)"),
        ("lr: 0.1\ntraining:\n  lr: 0.2\n", "line 3: 'lr' given twice (first on line 1)"),
        ("model_args: {a: 1, a: 2}\n", "'a' given twice"),
        ("batch_size: 64x\n", "line 1: option batch_size: expected an integer, got '64x'"),
        ("epochs: 2.5\n", "option epochs: expected an integer, got 2.5"),
        ("epochs: true\n", "option epochs: expected an integer, got True"),
        ("lr: fast\n", "option lr: expected a number, got 'fast'"),
        ("lr: .nan\n", "option lr: expected a number"),
        ("lr: -1\n", "lr must be greater than 0, got -1.0"),
        ("valid_fraction: 1.5\n", "valid_fraction must be at least 0 and less than 1, got 1.5"),
        ("batch_size: 0\n", "batch_size must be at least 1"),
        ("seed: -3\n", "seed must be at least 0"),
        ("amp: maybe\n", "option amp: expected true or false, got 'maybe'"),
        ("optimizer: 3\n", "option optimizer: expected text, got 3"),
        ("valid_chroms: {a: 1}\n", "option valid_chroms takes a value, not a section"),
        ("train:\n  epochs: 3\n", "training options go at the top level or under 'training:'"),
        ("training:\n  negatives: shuffle\n", "in section 'training' (negatives is a data option)"),
        ("batchsize: 3\n", "unknown option 'batchsize' (did you mean batch_size?)"),
        ("model:\n  nmae: x\n", "unknown option 'nmae' in section 'model'"),
        ("model: [a, b]\n", "option model: expected a model name or a mapping"),
        ("model_args: 3\n", "model arguments: expected a mapping"),
        ("training: 3\n", "'training' is a section: expected a mapping"),
        ("- epochs\n- 3\n", "expected a mapping of option: value lines"),
        ("epochs: 3\n 2: x\n", "not valid YAML"),
        ("epochs: [3\n", "not valid YAML"),
        ("epochs: &x 3\npatience: *x\n", "line 2: anchors and aliases"),
        ("training:\n  <<: {lr: 1}\n", "line 2: merge keys (<<) are not supported"),
        ("epochs: !!python/object/apply:os.system ['touch PWNED']\n", "is not allowed"),
        ("lr: !!python/name:os.system\n", "value not allowed"),
        ("epochs: 3\n---\nepochs: 4\n", "expected a single document"),
        ("1: 3\n", "a key must be a name, got 1"),
        ("? [a]\n: 1\n", "a key must be a plain name"),
    ],
)
def test_bad_option_files_are_one_line_with_the_line(tmp_path, monkeypatch, text, phrase):
    monkeypatch.chdir(tmp_path)
    message = _error(tmp_path, text)
    assert phrase in message, message
    assert not (tmp_path / "PWNED").exists()


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    message = _error(tmp_path, "epochs: 3\nlr: [1, 2\nseed: 1\n")
    assert "line 3" in message and "column" in message, message


def test_files_that_are_not_option_files(tmp_path):
    with pytest.raises(InputError, match="option file not found"):
        load_options(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="found a directory"):
        load_options(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"epochs: \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_options(tmp_path / "bin.yaml")
    (tmp_path / "big.yaml").write_text("# x\n" * 300_000)
    with pytest.raises(InputError, match="too large"):
        load_options(tmp_path / "big.yaml")


def test_every_training_and_data_option_is_known_and_checked():
    kinds = option_kinds()
    for name in ("epochs", "lr", "amp", "negatives", "valid_chroms", "sequence_column", "train"):
        assert name in kinds
    assert check_value("sequence_column", None) is None
    assert check_value("test_chroms", "chr9") == ["chr9"]
    with pytest.raises(ConfigError, match="option amp: expected true or false"):
        check_value("amp", None)
    with pytest.raises(ConfigError, match="unknown option 'nope'"):
        check_value("nope", 1)
