rule mutation_map:
    input:
        unpack(map_inputs),
    output:
        directory("results/mutation_map/{sample}"),
    log:
        "logs/mutation_map/{sample}.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: config["mutation_map"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seqcnn=SEQCNN,
        commands=map_commands,
    shell:
        "(mkdir -p {output:q} && {params.commands}) > {log:q} 2>&1"
