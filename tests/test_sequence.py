"""Encoding, decoding, reverse complement and dinucleotide shuffles."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest
import torch

from seqcnn.exceptions import InputError
from seqcnn.sequence import (
    IUPAC,
    check_sequences,
    decode,
    dinucleotide_shuffle,
    dinucleotide_shuffle_many,
    find_invalid,
    gc_content,
    one_hot_encode,
    reverse_complement,
)

IUPAC_CODES = "".join(IUPAC)


def random_seqs(n, alphabet="ACGT", low=1, high=60, seed=0):
    rng = np.random.default_rng(seed)
    letters = np.array(list(alphabet))
    return ["".join(rng.choice(letters, rng.integers(low, high + 1))) for _ in range(n)]


def doublets(s: str) -> collections.Counter:
    return collections.Counter(zip(s, s[1:], strict=False))


# ------------------------------------------------------------------ one-hot encoding
def test_encode_decode_round_trip():
    seqs = random_seqs(200, "ACGTN", seed=1)
    x = one_hot_encode(seqs)
    assert x.dtype == torch.float32 and x.shape == (200, 4, max(map(len, seqs)))
    assert decode(x, lengths=[len(s) for s in seqs]) == seqs


def test_single_string_gives_4_by_L():
    x = one_hot_encode("ACGTN")
    assert x.shape == (4, 5)
    assert x.sum(0).tolist() == [1, 1, 1, 1, 0]
    assert x.argmax(0)[:4].tolist() == [0, 1, 2, 3]


def test_lowercase_equals_uppercase():
    seqs = random_seqs(50, "ACGTNRYacgtnry", seed=2)
    assert torch.equal(one_hot_encode(seqs), one_hot_encode([s.upper() for s in seqs]))
    assert torch.equal(
        one_hot_encode(seqs, ambiguous="iupac"),
        one_hot_encode([s.upper() for s in seqs], ambiguous="iupac"),
    )


def test_n_and_ambiguous_codes_are_zero_columns_by_default():
    x = one_hot_encode("NRYSWKMBDHVn")
    assert torch.count_nonzero(x) == 0


def test_iupac_fractions_sum_to_one_and_match_the_code():
    x = one_hot_encode(IUPAC_CODES, ambiguous="iupac")
    assert torch.allclose(x.sum(0), torch.ones(len(IUPAC_CODES)))
    for j, code in enumerate(IUPAC_CODES):
        expected = torch.tensor([1.0 / len(IUPAC[code]) if b in IUPAC[code] else 0 for b in "ACGT"])
        assert torch.allclose(x[:, j], expected), code
    assert decode(x, iupac=True) == IUPAC_CODES


def test_unequal_lengths_padded_on_the_right_with_zero_columns():
    x = one_hot_encode(["ACGTA", "CG", ""])
    assert x.shape == (3, 4, 5)
    assert x[1, :, :2].argmax(0).tolist() == [1, 2]
    assert torch.count_nonzero(x[1, :, 2:]) == 0 and torch.count_nonzero(x[2]) == 0
    y = one_hot_encode(["ACGTA", "CG"], length=8)
    assert y.shape == (2, 4, 8) and torch.count_nonzero(y[:, :, 5:]) == 0
    assert torch.equal(y[:, :, :5], x[:2])


def test_sequence_longer_than_length_is_an_error():
    with pytest.raises(InputError, match="sequence 1 is 6 bp long, longer than .* 4"):
        one_hot_encode(["ACG", "ACGTAC"], length=4)


@pytest.mark.parametrize("bad", ["U", "-", ".", "X", "5", " ", "é"])
def test_invalid_character_names_record_char_and_position(bad):
    seqs = ["ACGT", "ACGT", "AC" + bad + "T"]
    with pytest.raises(InputError) as err:
        one_hot_encode(seqs)
    msg = str(err.value)
    assert "sequence 2" in msg and repr(bad) in msg and "position 3" in msg
    with pytest.raises(InputError, match="record 'chr2:5-9'"):
        one_hot_encode(seqs, names=["a", "b", "chr2:5-9"])


def test_invalid_rna_mentions_conversion():
    with pytest.raises(InputError, match="RNA"):
        one_hot_encode("ACGU")


def test_encode_accepts_arrays_and_tuples():
    seqs = ("ACG", "TTA")
    assert torch.equal(one_hot_encode(np.array(seqs)), one_hot_encode(list(seqs)))


def test_encode_is_fast_enough():
    import time

    seqs = random_seqs(1000, low=101, high=101, seed=3) * 50

    t = time.perf_counter()
    x = one_hot_encode(seqs)
    elapsed = time.perf_counter() - t
    assert x.shape == (50_000, 4, 101)
    assert elapsed < 2.0, f"encoding 50k x 101 bp took {elapsed:.2f} s"


def test_find_invalid_and_check_sequences():
    assert find_invalid(["ACGT", "NNRY"]) is None
    assert find_invalid(["ACGT", "", "AC*T"]) == (2, 2, "*")
    with pytest.raises(InputError, match=r"x\.tsv, line 7: empty sequence"):
        check_sequences(["ACGT", ""], path="x.tsv", lines=[6, 7])
    with pytest.raises(InputError, match=r"record 'r2'.*'-'"):
        check_sequences(["ACGT", "A-"], names=["r1", "r2"])


# ------------------------------------------------------------------ reverse complement
def test_reverse_complement_examples():
    assert reverse_complement("ACGTRYKMBDHVSWN") == "NWSBDHVKMRYACGT"
    assert reverse_complement("aaCg") == "cGtt"
    assert reverse_complement(["AC", "", "g"]) == ["GT", "", "c"]


def test_reverse_complement_twice_is_identity():
    seqs = random_seqs(300, IUPAC_CODES + IUPAC_CODES.lower(), low=0, seed=5)
    assert reverse_complement(reverse_complement(seqs)) == seqs


def test_one_hot_of_reverse_complement_is_flip():
    seqs = random_seqs(100, "ACGTN" + "RYKMBDHVSW", low=30, high=30, seed=6)
    for mode in ("zero", "iupac"):
        x = one_hot_encode(seqs, ambiguous=mode)
        assert torch.equal(one_hot_encode(reverse_complement(seqs), ambiguous=mode), x.flip(-2, -1))


# ------------------------------------------------------------------ dinucleotide shuffle
def _check_shuffles(originals, shuffles):
    for a, b in zip(originals, shuffles, strict=True):
        assert len(a) == len(b)
        assert doublets(a) == doublets(b)
        assert a[:1] == b[:1] and a[-1:] == b[-1:]


def test_shuffle_preserves_dinucleotide_counts_exactly():
    seqs = random_seqs(2000, "ACGT", low=0, high=120, seed=7)
    seqs += random_seqs(500, "ACGTNacgtRY", low=0, high=40, seed=8)
    seqs += ["", "A", "AC", "AAA", "ACA", "AAAAAAAA", "ATATATAT"]
    out = dinucleotide_shuffle_many(seqs, n=3, seed=1)
    assert len(out) == 3 * len(seqs)
    _check_shuffles([s for s in seqs for _ in range(3)], out)


def test_shuffle_order_is_all_n_of_each_input_in_turn():
    seqs = ["AAAACCCCAAAA", "GGGGTTTTGGGG"]
    out = dinucleotide_shuffle_many(seqs, n=4, seed=0)
    assert [set(s) for s in out] == [{"A", "C"}] * 4 + [{"G", "T"}] * 4


def test_shuffle_of_real_encode_peaks(data_dir):
    from seqcnn.io import read_table

    table = read_table(
        data_dir / "encode-chipseq" / "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha_B.seq.gz"
    )
    seqs = table.sequences
    out = dinucleotide_shuffle_many(seqs, n=2, seed=3)
    _check_shuffles([s for s in seqs for _ in range(2)], out)
    changed = np.mean(
        [a != b for a, b in zip([s for s in seqs for _ in range(2)], out, strict=True)]
    )
    assert changed > 0.99


def test_shuffle_is_seeded_and_actually_shuffles():
    seqs = random_seqs(300, low=50, high=101, seed=9)
    a = dinucleotide_shuffle_many(seqs, seed=42)
    assert a == dinucleotide_shuffle_many(seqs, seed=42)
    assert a != dinucleotide_shuffle_many(seqs, seed=43)
    assert sum(x != y for x, y in zip(a, seqs, strict=True)) >= 295
    s = seqs[0]
    assert dinucleotide_shuffle(s, 5) == dinucleotide_shuffle(s, np.random.default_rng(5))


def _all_arrangements(s: str) -> list[str]:
    """Every string with the doublet counts of ``s`` (and its first letter)."""
    counts = doublets(s)
    found = []

    def extend(path):
        if len(path) == len(s):
            found.append("".join(path))
            return
        for (a, b), c in counts.items():
            if a == path[-1] and c:
                counts[(a, b)] -= 1
                extend([*path, b])
                counts[(a, b)] += 1

    extend([s[0]])
    return found


@pytest.mark.parametrize("seq", ["ACAGTACGATCA", "AACCGGTTACGTAC", "GANTTACAGNAT"])
def test_shuffle_is_uniform_over_all_arrangements(seq):
    """Altschul-Erickson draws every sequence with the same doublets equally often."""
    arrangements = _all_arrangements(seq)
    draws = 200 * len(arrangements)
    seen = collections.Counter(dinucleotide_shuffle_many([seq], n=draws, seed=11))
    assert set(seen) == set(arrangements)
    observed = np.array([seen[a] for a in arrangements])
    chi2 = float(((observed - 200) ** 2 / 200).sum())
    dof = len(arrangements) - 1
    # chi-square far beyond its mean (dof) and sd (sqrt(2 dof)) would mean a biased draw
    assert chi2 < dof + 6 * np.sqrt(2 * dof), (chi2, dof)


def test_shuffle_long_sequence():
    s = "".join(np.random.default_rng(12).choice(list("ACGTN"), 100_000))
    out = dinucleotide_shuffle(s, rng=0)
    _check_shuffles([s], [out])
    assert out != s


def test_shuffle_is_fast_enough():
    import time

    seqs = random_seqs(20_000, low=101, high=101, seed=13)
    t = time.perf_counter()
    dinucleotide_shuffle_many(seqs, seed=0)
    elapsed = time.perf_counter() - t
    # target >= 20k sequences/s on one core; allow 4x for shared, loaded test machines
    assert elapsed < 4.0, f"shuffling 20k x 101 bp took {elapsed:.2f} s"


def test_shuffle_arguments():
    with pytest.raises(TypeError):
        dinucleotide_shuffle_many("ACGT")
    assert dinucleotide_shuffle_many(["ACGT"], n=0) == []
    assert dinucleotide_shuffle_many([], n=3) == []


# ------------------------------------------------------------------ GC content
def test_gc_content():
    assert gc_content("GGCAnn") == 0.75
    assert gc_content(["GC", "at", "NNN", "ACGTACGT"]).tolist()[:2] == [1.0, 0.0]
    values = gc_content(["GC", "at", "NNN", "ACGTACGT"])
    assert np.isnan(values[2]) and values[3] == 0.5


def test_gc_content_matches_one_hot():
    seqs = random_seqs(100, "ACGTN", low=5, seed=14)
    x = one_hot_encode(seqs).numpy()
    expected = x[:, 1:3].sum((1, 2)) / x.sum((1, 2))
    assert np.allclose(gc_content(seqs), expected)


def test_itertools_helper_agrees_with_brute_force():
    """The exhaustive list used by the uniformity test is itself right."""
    s = "ACAGTAC"
    brute = {
        "".join(p)
        for p in itertools.product("ACGT", repeat=len(s))
        if p[0] == s[0] and doublets("".join(p)) == doublets(s)
    }
    assert set(_all_arrangements(s)) == brute


# ---------------------------------------------------------------------------- compact storage
def mixed_seqs(n=50, seed=4):
    """Unequal lengths, lower case, N and other IUPAC codes."""
    return random_seqs(n, alphabet="ACGTacgtNnRYkw", low=1, high=40, seed=seed)


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.bool, torch.float16])
def test_one_hot_encode_dtypes_equal_float32(dtype):
    seqs = mixed_seqs()
    want = one_hot_encode(seqs, length=45)
    got = one_hot_encode(seqs, length=45, dtype=dtype)
    assert got.dtype == dtype and got.shape == want.shape
    assert torch.equal(got.float(), want)
    if dtype != torch.float16:
        with pytest.raises(ValueError, match="fractions"):
            one_hot_encode(seqs, ambiguous="iupac", dtype=dtype)
    else:
        want = one_hot_encode(seqs, ambiguous="iupac")
        assert torch.equal(one_hot_encode(seqs, ambiguous="iupac", dtype=dtype).float(), want)


def test_one_hot_encode_int8_equals_tangermeme():
    tangermeme = pytest.importorskip("tangermeme.utils")
    seqs = random_seqs(20, alphabet="ACGTN", low=30, high=30, seed=2)
    ours = one_hot_encode(seqs, dtype=torch.int8)
    theirs = torch.stack([tangermeme.one_hot_encode(s) for s in seqs])
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("ambiguous", ["zero", "iupac"])
def test_sequence_bytes_one_hot_equals_one_hot_encode(ambiguous):
    from seqcnn.sequence import CompactOneHot, one_hot_bytes, sequence_bytes, to_batch

    seqs = mixed_seqs()
    raw = sequence_bytes(seqs, length=42)
    assert raw.dtype == np.uint8 and raw.shape == (50, 42)
    want = one_hot_encode(seqs, length=42, ambiguous=ambiguous)
    assert torch.equal(one_hot_bytes(raw, ambiguous=ambiguous), want)
    x = CompactOneHot(raw, ambiguous=ambiguous)
    assert x.shape == want.shape and len(x) == 50 and x.nbytes == raw.size
    idx = torch.tensor([3, 0, 49])
    assert torch.equal(x[idx], want[idx]) and torch.equal(x[5], want[5])
    assert torch.equal(x[10:20], want[10:20]) and torch.equal(x.float(), want)
    assert torch.equal(x.batch(idx, device="cpu"), want[idx])
    assert torch.equal(to_batch(x, idx, "cpu"), to_batch(want, idx, "cpu"))
    assert x.to("cpu").data.dtype == torch.uint8


def test_sequence_bytes_errors_name_the_sequence():
    from seqcnn.sequence import check_bytes, sequence_bytes

    with pytest.raises(
        InputError, match=r"record 'rec2': sequence 1: invalid character '-' at position 3"
    ):
        sequence_bytes(["ACGT", "AC-T"], names=["rec1", "rec2"])
    with pytest.raises(InputError, match="longer than the requested length 3"):
        sequence_bytes(["ACGT"], length=3)
    raw = np.frombuffer(b"ACGTAC*T", dtype=np.uint8).reshape(2, 4)
    with pytest.raises(InputError, match=r"sequence 1: invalid character '\*' at position 3"):
        check_bytes(raw)
    assert check_bytes(raw[:1]) is not None


@pytest.mark.parametrize("n,width,count", [(1, 101, 300), (3, 17, 40), (2, 3, 10), (1, 2, 5)])
def test_dinucleotide_shuffle_bytes_equals_string_shuffle(n, width, count):
    """The same draws as dinucleotide_shuffle_many, for any seed: training is unchanged."""
    from seqcnn.sequence import dinucleotide_shuffle_bytes, sequence_bytes

    seqs = random_seqs(count, alphabet="ACGTNacgt", low=width, high=width, seed=width)
    for seed in (0, 7):
        want = dinucleotide_shuffle_many(seqs, n=n, seed=np.random.default_rng([seed, 1]))
        out = np.zeros((count * n, width), dtype=np.uint8)
        got = dinucleotide_shuffle_bytes(
            sequence_bytes(seqs), n=n, seed=np.random.default_rng([seed, 1]), out=out
        )
        assert got is out
        assert [r.tobytes().decode() for r in got] == want
    pick = np.arange(0, count, 3)
    want = dinucleotide_shuffle_many([seqs[i] for i in pick], n=n, seed=5)
    got = dinucleotide_shuffle_bytes(sequence_bytes(seqs), n=n, seed=5, rows=pick)
    assert [r.tobytes().decode() for r in got] == want


def test_dinucleotide_shuffle_bytes_many_chunks():
    """More rows than one chunk holds (2**21 bases): chunking draws as the string version."""
    from seqcnn.sequence import dinucleotide_shuffle_bytes, sequence_bytes

    seqs = random_seqs(2200, alphabet="ACGT", low=1000, high=1000, seed=9)
    want = dinucleotide_shuffle_many(seqs, n=1, seed=3)
    got = dinucleotide_shuffle_bytes(sequence_bytes(seqs), n=1, seed=3)
    assert got.tobytes().decode() == "".join(want)


def test_sequence_bytes_in_pieces_equals_one_pass():
    """Inputs larger than one piece (~16 MB) are encoded piece by piece, identically."""
    from seqcnn.sequence import sequence_bytes

    rng = np.random.default_rng(0)
    base = rng.choice(np.frombuffer(b"ACGTN", "S1"), size=(18_000, 1000)).view("S1000").ravel()
    seqs = [s.decode() for s in base.tolist()]
    seqs[17_000] = seqs[17_000][:400]  # unequal lengths: padded rows in the second piece
    got = sequence_bytes(seqs)
    assert got.shape == (18_000, 1000)
    assert got[17_000, :400].tobytes().decode() == seqs[17_000]
    assert (got[17_000, 400:] == 0).all() and got[16_999].tobytes().decode() == seqs[16_999]
    seqs[17_500] = seqs[17_500][:10] + "X" + seqs[17_500][11:]
    with pytest.raises(InputError, match="sequence 17500: .*'X' at position 11 "):  # 1-based
        sequence_bytes(seqs)
