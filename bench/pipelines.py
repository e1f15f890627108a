"""Pipeline benchmark: the local training-pipeline execution on 100,000 rows.

Starts its own in-process twin, lands ``--rows`` rows of the used-car data product, and runs,
on the same data in the same twin:

- the Step Functions training pipeline of notebook 04 (preprocess → train → save model →
  metrics → threshold → two baselines in parallel → endpoint with data capture → SSM → notify),
  end to end from ``StartExecution`` to ``SUCCEEDED``, with the time of each state;
- the same flow as a SageMaker Pipeline the twin runs from its definition (process → train →
  evaluate → condition → register), from ``StartPipelineExecution`` to ``Succeeded``, the peer
  for the training part.

Each figure is the median of ``--runs`` executions, printed with every run and the load average.
Target on a 2-core machine: the Step Functions execution under 30 s at 100,000 rows.

Run: ``.venv/bin/python bench/pipelines.py [--rows 100000] [--runs 2]``
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

import mlaccel  # noqa: E402
from mlaccel import demo, notify, pipelines, products, workflows  # noqa: E402
from mlaccel_twin import Twin  # noqa: E402

TARGET_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2, help="executions of each pipeline")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mlaccel").setLevel(logging.WARNING)

    load_before = _load()
    with Twin() as twin:
        conn = mlaccel.connect("local", twin_url=twin.url)
        topic = notify.ensure_topic("mlaccel-bench", connection=conn)
        frame = demo.generate("used_cars", args.rows, seed=7)
        spec = demo.get_demo("used_cars")
        product = products.infer_product(
            frame,
            name="used_cars",
            target=spec.target,
            problem_type=spec.problem_type,
            id_column=spec.id_column,
        ).product
        settings = workflows.workflow_settings(product, connection=conn, topic_arn=topic)
        started = time.perf_counter()
        workflows.deploy_functions(connection=conn)
        workflows.stage_code(settings, connection=conn)
        workflows.land_data(frame, f"{settings.training_data_uri}/bench.parquet", connection=conn)
        training = workflows.training_workflow(settings)
        workflows.create_or_update(training, connection=conn)
        build = pipelines.build_pipeline(
            product, connection=conn, input_uri=settings.training_data_uri
        )
        build.upsert(role_arn=conn.role_arn)
        setup = time.perf_counter() - started
        print(f"rows: {args.rows:,} ({len(frame.columns)} columns); set-up {setup:.1f} s")

        sfn_times, smp_times, last = [], [], None
        for run in range(args.runs):
            started = time.perf_counter()
            last = workflows.execute(training, connection=conn, name=f"bench-{run}")
            sfn_times.append(time.perf_counter() - started)
            if last.status != "SUCCEEDED":
                print(f"Step Functions run failed: {last.error}: {last.cause}")
                return 1
            started = time.perf_counter()
            execution = build.start()
            status = pipelines.wait_for_execution(execution, connection=conn)
            smp_times.append(time.perf_counter() - started)
            if status != "Succeeded":
                print(f"SageMaker Pipeline run {status}: {execution.describe()}")
                return 1

    assert last is not None
    states = _count_states(training.definition.to_dict())
    steps = last.steps()
    slowest = steps.dropna(subset=["seconds"]).nlargest(6, "seconds")
    print("\nslowest states of the last Step Functions run (s):")
    print(slowest[["state", "seconds"]].to_string(index=False))
    median_sfn, median_smp = statistics.median(sfn_times), statistics.median(smp_times)
    print(f"\n{'pipeline':<52}{'median s':>9}{'runs':>24}")
    print(
        f"{f'Step Functions training pipeline ({states} states, local)':<52}{median_sfn:>9.1f}"
        f"{', '.join(f'{t:.1f}' for t in sfn_times):>24}"
    )
    print(
        f"{'SageMaker Pipeline, run by the twin (5 steps)':<52}{median_smp:>9.1f}"
        f"{', '.join(f'{t:.1f}' for t in smp_times):>24}"
    )
    print(f"load average before {load_before}, after {_load()}")
    verdict = "meets" if median_sfn < TARGET_SECONDS else "misses"
    print(f"\ntarget: Step Functions run under {TARGET_SECONDS:.0f} s at 100,000 rows: {verdict}")
    return 0


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _count_states(definition: dict[str, Any]) -> int:
    """States of a definition, those inside Parallel branches included."""
    return sum(
        1 + sum(_count_states(branch) for branch in state.get("Branches", []))
        for state in definition["States"].values()
    )


if __name__ == "__main__":
    raise SystemExit(main())
