# Variant effects. scatter: chrom splits the VCF by chromosome (one job each, in the order the
# chromosomes first appear) and gathers the shards into one bgzipped, tabix-indexed VCF whose
# records equal those of one unsharded `seqcnn score-variants` run (for a VCF whose records
# are grouped by chromosome, as sorted VCFs are; joined by scripts/gather_vcf.py with pysam).
# scatter: none runs one job.


wildcard_constraints:
    chrom="[^/]+",


if config["score_variants"]["scatter"] == "chrom":

    rule split_vcf:
        input:
            vcf=lambda w: sample_path(w.sample, "vcf"),
        output:
            temp("results/score_variants/{sample}/split/{chrom}.vcf"),
        log:
            "logs/score_variants/{sample}/split_{chrom}.log",
        conda:
            "../envs/seqcnn.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=10,
        shell:
            "(gzip -cdf {input.vcf:q} | awk -F'\\t' -v c={wildcards.chrom:q}"
            " 'substr($0, 1, 1) == \"#\" || $1 == c' > {output:q}) 2> {log:q}"

    rule score_variants_shard:
        input:
            run="results/train/{sample}/metrics.json",
            vcf="results/score_variants/{sample}/split/{chrom}.vcf",
            genome=lambda w: sample_path(w.sample, "genome"),
        output:
            vcf="results/score_variants/{sample}/shards/{chrom}.vcf.gz",
            tbi="results/score_variants/{sample}/shards/{chrom}.vcf.gz.tbi",
        log:
            "logs/score_variants/{sample}/{chrom}.log",
        conda:
            "../envs/seqcnn.yaml"
        threads: config["score_variants"]["threads"]
        resources:
            mem_mb=4000,
            runtime=60,
        params:
            seqcnn=SEQCNN,
            run=subpath(input.run, parent=True),
            extra=config["score_variants"]["extra"],
        shell:
            "{params.seqcnn} score-variants {params.run:q} --vcf {input.vcf:q}"
            " --fasta {input.genome:q} --out {output.vcf:q} --threads {threads} --quiet"
            " {params.extra} > {log:q} 2>&1"

    rule gather_variants:
        input:
            variant_shards,
        output:
            vcf="results/score_variants/{sample}.vcf.gz",
            tbi="results/score_variants/{sample}.vcf.gz.tbi",
        log:
            "logs/score_variants/{sample}/gather.log",
        conda:
            "../envs/seqcnn.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=30,
        script:
            "../scripts/gather_vcf.py"

else:

    rule score_variants:
        input:
            run="results/train/{sample}/metrics.json",
            vcf=lambda w: sample_path(w.sample, "vcf"),
            genome=lambda w: sample_path(w.sample, "genome"),
        output:
            vcf="results/score_variants/{sample}.vcf.gz",
            tbi="results/score_variants/{sample}.vcf.gz.tbi",
        log:
            "logs/score_variants/{sample}.log",
        conda:
            "../envs/seqcnn.yaml"
        threads: config["score_variants"]["threads"]
        resources:
            mem_mb=4000,
            runtime=120,
        params:
            seqcnn=SEQCNN,
            run=subpath(input.run, parent=True),
            extra=config["score_variants"]["extra"],
        shell:
            "{params.seqcnn} score-variants {params.run:q} --vcf {input.vcf:q}"
            " --fasta {input.genome:q} --out {output.vcf:q} --threads {threads} --quiet"
            " {params.extra} > {log:q} 2>&1"
