"""Property tests (hypothesis): coordinates and encoders agree with plain Python slicing.

Random genomes (several contigs, lowercase soft-masking, N and other IUPAC codes, random FASTA
line widths) are written to disk and read back through seqcnn's readers; every BED interval,
window and VCF position is compared with ``sequence[start:end]`` of the Python string the
genome was written from, including windows that touch or cross the contig ends.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqcnn.io.bed import read_bed, windows
from seqcnn.io.genome import Genome
from seqcnn.sequence import decode, one_hot_encode, reverse_complement

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASES = "ACGTNacgtnRYKMSWrykm"
COMPLEMENT = str.maketrans("ACGTNRYKMSWacgtnrykmsw", "TGCANYRMKSWtgcanyrmksw")


def plain_revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def padded_slice(seq: str, start: int, end: int) -> str:
    """``seq[start:end]`` with N for positions off either end (the windows' padding)."""
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, end))


contig_seq = st.text(alphabet=BASES, min_size=1, max_size=200)
genomes = st.dictionaries(
    st.sampled_from(["chr1", "chr2", "chrM", "scaffold_7"]), contig_seq, min_size=1, max_size=3
)


@contextlib.contextmanager
def written_genome(contigs: dict[str, str], width: int):
    """The contigs as a FASTA file with ``width`` bases per line, opened as a Genome."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "genome.fa"
        with open(path, "w") as fh:
            for name, seq in contigs.items():
                fh.write(f">{name} description\n")
                for i in range(0, len(seq), width):
                    fh.write(seq[i : i + width] + "\n")
        genome = Genome(path, cache_dir=Path(tmp) / "cache")
        try:
            yield genome, Path(tmp)
        finally:
            genome.close()


@st.composite
def genome_and_intervals(draw):
    contigs = draw(genomes)
    width = draw(st.integers(1, 80))
    names = sorted(contigs)
    intervals = []
    for _ in range(draw(st.integers(1, 12))):
        chrom = draw(st.sampled_from(names))
        size = len(contigs[chrom])
        start = draw(st.integers(0, size - 1))
        end = draw(st.integers(start + 1, size))
        strand = draw(st.sampled_from("+-."))
        intervals.append((chrom, start, end, strand))
    return contigs, width, intervals


@SETTINGS
@given(genome_and_intervals())
def test_bed_intervals_are_python_slices(case):
    contigs, width, intervals = case
    with written_genome(contigs, width) as (genome, tmp):
        assert genome.chrom_sizes == {k: len(v) for k, v in contigs.items()}
        bed_path = tmp / "x.bed"
        bed_path.write_text(
            "track name=t\n"
            + "".join(f"{c}\t{s}\t{e}\tr{i}\t0\t{d}\n" for i, (c, s, e, d) in enumerate(intervals))
        )
        bed = read_bed(bed_path)
        assert bed[["chrom", "start", "end"]].values.tolist() == [
            [c, s, e] for c, s, e, _ in intervals
        ]
        got = genome.fetch_intervals(bed)
        assert got == [contigs[c][s:e] for c, s, e, _ in intervals]
        stranded = genome.fetch_intervals(bed, stranded=True)
        want = [
            plain_revcomp(contigs[c][s:e]) if d == "-" else contigs[c][s:e]
            for c, s, e, d in intervals
        ]
        assert stranded == want
        for c, s, e, _ in intervals:
            assert genome.fetch(c, s, e) == contigs[c][s:e]
            assert genome[c][s:e] == contigs[c][s:e]


@SETTINGS
@given(genomes, st.integers(1, 80), st.data())
def test_windows_at_contig_edges_are_slices_or_flagged(contigs, width, data):
    """A window is fetched exactly when it lies on its contig; ``status`` says so at the edges."""
    chrom = data.draw(st.sampled_from(sorted(contigs)))
    seq = contigs[chrom]
    length = data.draw(st.integers(1, 2 * len(seq) + 2))
    # centres drawn near both ends as often as in the middle
    centre = data.draw(
        st.one_of(
            st.integers(0, min(len(seq) - 1, length)),
            st.integers(max(0, len(seq) - 1 - length), len(seq) - 1),
            st.integers(0, len(seq) - 1),
        )
    )
    bed = pd.DataFrame({"chrom": [chrom], "start": [centre], "end": [centre + 1]})
    win = windows(bed, length, center="middle")
    start, end = int(win["start"].iloc[0]), int(win["end"].iloc[0])
    assert end - start == length and start == centre - length // 2
    assert int(win["center"].iloc[0]) == centre
    with written_genome(contigs, width) as (genome, _):
        status = genome.status([chrom], [start], [end])[0]
        on_contig = 0 <= start and end <= len(seq)
        assert status == ("ok" if on_contig else "out_of_bounds")
        if on_contig:
            codes = genome.window_codes([chrom], [start], length)
            assert codes.tobytes().decode() == seq[start:end]
            rc = genome.window_codes([chrom], [start], length, reverse=[True])
            assert rc.tobytes().decode() == plain_revcomp(seq[start:end])
        else:
            with pytest.raises(Exception, match="runs off contig"):
                genome.window_codes([chrom], [start], length)
        assert genome.status(["nope"], [0], [1])[0] == "unknown_contig"


@SETTINGS
@given(genomes, st.integers(1, 80), st.data())
def test_narrowpeak_summit_windows_centre_on_the_summit_base(contigs, width, data):
    chrom = data.draw(st.sampled_from(sorted(contigs)))
    seq = contigs[chrom]
    start = data.draw(st.integers(0, len(seq) - 1))
    end = data.draw(st.integers(start + 1, len(seq)))
    summit = data.draw(st.integers(-1, end - start - 1))
    length = data.draw(st.integers(1, 50))
    with written_genome(contigs, width) as (genome, tmp):
        path = tmp / "p.narrowPeak"
        path.write_text(f"{chrom}\t{start}\t{end}\tp\t0\t.\t1\t1\t1\t{summit}\n")
        win = windows(read_bed(path), length)
        centre = start + summit if summit >= 0 else (start + end) // 2
        assert int(win["center"].iloc[0]) == centre
        s = int(win["start"].iloc[0])
        assert s + length // 2 == centre
        if genome.status([chrom], [s], [s + length])[0] == "ok":
            got = genome.window_codes([chrom], [s], length).tobytes().decode()
            assert got == seq[s : s + length] and got[length // 2] == seq[centre]


@SETTINGS
@given(genomes, st.integers(1, 80), st.data())
def test_vcf_positions_are_one_based_and_windows_are_padded_slices(contigs, width, data):
    from seqcnn.io.vcf import read_vcf
    from seqcnn.variants import variant_window

    chrom = data.draw(st.sampled_from(sorted(contigs)))
    seq = contigs[chrom]
    pos0 = data.draw(st.integers(0, len(seq) - 1))
    ref = seq[pos0].upper()
    assume(ref in "ACGT")
    alt = data.draw(st.sampled_from([b for b in "ACGT" if b != ref]))
    length = data.draw(st.integers(1, 60))
    with written_genome(contigs, width) as (genome, tmp):
        path = tmp / "v.vcf"
        path.write_text(
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            f"{chrom}\t{pos0 + 1}\tv1\t{ref.lower()}\t{alt}\t.\t.\t.\n"
        )
        (allele,) = list(read_vcf(path))
        assert (allele.chrom, allele.pos, allele.pos0) == (chrom, pos0 + 1, pos0)
        assert allele.skip is None
        window = variant_window(allele, genome, length)
        assert window.status == "ok"
        c = length // 2
        want = padded_slice(seq, pos0 - c, pos0 - c + length).upper()
        assert window.ref_seq == want
        assert window.alt_seq == want[:c] + alt + want[c + 1 :]
        off = pos0 - c < 0 or pos0 - c + length > len(seq)
        assert ("padded" in window.flags) == off


# ---------------------------------------------------------------------------- encoders
def plain_one_hot(seqs: list[str], length: int) -> np.ndarray:
    out = np.zeros((len(seqs), 4, length), dtype=np.float32)
    for i, s in enumerate(seqs):
        for j, ch in enumerate(s):
            if ch.upper() in "ACGT":
                out[i, "ACGT".index(ch.upper()), j] = 1.0
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=BASES, max_size=40), min_size=1, max_size=8), st.integers(0, 5))
def test_one_hot_encode_is_plain_python_and_decodes_back(seqs, extra):
    length = max(len(s) for s in seqs) + extra
    x = one_hot_encode(seqs, length=length)
    assert x.shape == (len(seqs), 4, length)
    assert np.array_equal(x.numpy(), plain_one_hot(seqs, length))
    back = decode(x, lengths=[len(s) for s in seqs])
    assert back == ["".join(ch.upper() if ch.upper() in "ACGT" else "N" for ch in s) for s in seqs]
    assert np.array_equal(one_hot_encode(seqs).numpy(), plain_one_hot(seqs, length - extra))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=BASES, min_size=1, max_size=60))
def test_reverse_complement_matches_plain_python_and_flips_the_encoding(seq):
    assert reverse_complement(seq) == plain_revcomp(seq)
    assert reverse_complement(reverse_complement(seq)) == seq
    x = one_hot_encode(seq).numpy()
    assert np.array_equal(one_hot_encode(reverse_complement(seq)).numpy(), x[::-1, ::-1])


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=BASES, min_size=1, max_size=60))
def test_iupac_encoding_sums_to_one_for_codes_and_zero_for_gaps(seq):
    x = one_hot_encode(seq, ambiguous="iupac").numpy()
    sums = x.sum(0)
    assert np.allclose(sums, 1.0)  # every IUPAC code, N included, is a distribution
    z = one_hot_encode(seq).numpy().sum(0)
    assert np.array_equal(z, np.array([ch.upper() in "ACGT" for ch in seq], dtype=np.float32))
