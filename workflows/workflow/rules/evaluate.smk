rule evaluate:
    input:
        run="results/train/{sample}/metrics.json",
        data=lambda w: eval_data(w.sample),
    output:
        metrics="results/evaluate/{sample}/test/metrics.json",
    log:
        "logs/evaluate/{sample}.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: config["evaluate"]["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        seqcnn=SEQCNN,
        run=subpath(input.run, parent=True),
        out=subpath(output.metrics, parent=True),
        genome=lambda w: opt("--fasta", bed_genome(w.sample)),
        extra=config["evaluate"]["extra"],
    shell:
        "{params.seqcnn} evaluate {params.run:q} --data {input.data:q} {params.genome}"
        " --out {params.out:q} --threads {threads} {params.extra} > {log:q} 2>&1"
