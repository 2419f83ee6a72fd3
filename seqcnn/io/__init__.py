"""Readers for sequences, labels, intervals and genomes.

Every coordinate conversion in seqcnn happens in this package: BED intervals are 0-based
half-open, as in the files, and :class:`Genome` fetches 0-based half-open windows.
"""

from seqcnn.io.bed import BED_COLUMNS, merge_intervals, overlaps, read_bed, windows
from seqcnn.io.fasta import FastaRecord, read_fasta, read_fasta_records, read_labelled_fasta
from seqcnn.io.genome import Genome
from seqcnn.io.table import (
    SequenceTable,
    check_both_classes,
    infer_task,
    iter_table,
    read_frame,
    read_table,
    validate_binary,
)

__all__ = [
    "BED_COLUMNS",
    "FastaRecord",
    "Genome",
    "SequenceTable",
    "check_both_classes",
    "infer_task",
    "iter_table",
    "merge_intervals",
    "overlaps",
    "read_bed",
    "read_fasta",
    "read_fasta_records",
    "read_frame",
    "read_labelled_fasta",
    "read_table",
    "validate_binary",
    "windows",
]
