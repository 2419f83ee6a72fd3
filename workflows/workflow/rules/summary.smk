rule summary:
    input:
        expand("results/report/{sample}.json", sample=samples.index),
    output:
        html="results/summary/summary.html",
        tsv="results/summary/summary.tsv",
    log:
        "logs/summary/summary.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        seqcnn=SEQCNN,
    shell:
        "{params.seqcnn} summary {input:q} --out {output.html:q} --table {output.tsv:q} > {log:q} 2>&1"
