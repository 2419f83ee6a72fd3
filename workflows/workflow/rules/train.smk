rule train:
    input:
        unpack(train_inputs),
    output:
        metrics="results/train/{sample}/metrics.json",
        config="results/train/{sample}/config.json",
        model="results/train/{sample}/model.safetensors",
    log:
        "logs/train/{sample}.log",
    conda:
        "../envs/seqcnn.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=config["train"]["mem_mb"],
        runtime=config["train"]["runtime"],
        gpu=1 if config["train"]["gpu"] else 0,
    params:
        seqcnn=SEQCNN,
        run=subpath(output.metrics, parent=True),
        valid=lambda w, input: opt("--valid", input.get("valid")),
        test=lambda w, input: opt("--test", input.get("test")),
        genome=lambda w, input: opt(
            "--fasta", input.get("genome") if is_bed(input.train) else None
        ),
        negatives=lambda w: opt("--negatives", negatives(w.sample)),
        model=lambda w: _value(w.sample, "model") or config["train"]["model"],
        epochs=config["train"]["epochs"],
        seed=config["train"]["seed"],
        device=config["train"]["device"],
        extra=config["train"]["extra"],
    shell:
        "{params.seqcnn} train --train {input.train:q} {params.valid} {params.test} {params.genome}"
        " {params.negatives} --model {params.model} --epochs {params.epochs}"
        " --seed {params.seed} --device {params.device} --threads {threads}"
        " --out {params.run:q} --force {params.extra} > {log:q} 2>&1"
