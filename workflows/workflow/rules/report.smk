rule report:
    input:
        unpack(report_inputs),
    output:
        html="results/report/{sample}.html",
        json="results/report/{sample}.json",
    log:
        "logs/report/{sample}.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seqcnn=SEQCNN,
        run=lambda w, input: os.path.dirname(input.run),
        options=report_options,
        top=config["report"]["top"],
    shell:
        "{params.seqcnn} report {params.run:q} {params.options} --title {wildcards.sample:q}"
        " --top {params.top} --out {output.html:q} --json {output.json:q} > {log:q} 2>&1"
