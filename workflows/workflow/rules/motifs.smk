rule motifs:
    input:
        run="results/train/{sample}/metrics.json",
        data=lambda w: eval_data(w.sample),
    output:
        matches="results/motifs/{sample}/matches.tsv",
        meme="results/motifs/{sample}/motifs.meme",
    log:
        "logs/motifs/{sample}.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: config["motifs"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seqcnn=SEQCNN,
        run=subpath(input.run, parent=True),
        out=subpath(output.matches, parent=True),
        genome=lambda w: opt("--fasta", bed_genome(w.sample)),
        database=opt("--database", config["motifs"]["database"] or None),
        extra=config["motifs"]["extra"],
    shell:
        "{params.seqcnn} motifs {params.run:q} --data {input.data:q} {params.genome}"
        " {params.database} --out {params.out:q} --threads {threads} --quiet"
        " {params.extra} > {log:q} 2>&1"
