rule strongest_variants:
    input:
        vcf="results/score_variants/{sample}.vcf.gz",
    output:
        temp("results/mutation_map/{sample}.strongest.vcf"),
    log:
        "logs/mutation_map/{sample}.strongest.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        max_maps=config["mutation_map"]["max_maps"],
    script:
        "../scripts/strongest_variants.py"


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
