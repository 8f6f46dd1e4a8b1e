"""Benchmark the vision families on CIFAR-10 (all 10 classes) and a 3-class subset; writes JSON + Markdown
and a time-to-accuracy plot to benchmarks/results/. The summary's headline is time to accuracy: minutes to
90 / 93 / 95 % test accuracy (3 classes) and to 85 / 90 / 91 % (CIFAR-10), `vision.benchmark.THRESHOLDS`,
beside the final accuracy without and with test-time flip averaging, parameters, images/s and the input
pipeline's efficiency (real-data / synthetic-data training step rate).

    python scripts/benchmark_vision.py --data path/to/cifar10_jpg.zip                  # every family, both settings
    python scripts/benchmark_vision.py --data cifar10 --models resnet --settings cifar10 --epochs 200   # full length
    python scripts/benchmark_vision.py --data cifar10_jpg.zip --max-per-class 600 --epochs 8            # CPU budget
    python scripts/benchmark_vision.py --precision-only       # float32 against bfloat16 / float16 speed, no data
"""

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from core import config as core_config  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402
from vision import data  # noqa: E402
from vision.config import VisionConfig  # noqa: E402

SETTINGS = {"cifar10": None, "cifar3": "dog,automobile,truck"}  # None: every class


@exit_on_user_error
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="cifar10", help="CIFAR-10 as a folder, zip or the tfds name")
    parser.add_argument("--models", default="vgg,resnet,vit_conv,efficientnet",
                        help="comma-separated registered models (vit_conv: the ViT family's best measured)")
    parser.add_argument("--settings", default="cifar3,cifar10", help="comma-separated: " + ", ".join(SETTINGS))
    parser.add_argument("--three-classes", default=SETTINGS["cifar3"], help="the classes of the cifar3 setting")
    parser.add_argument("--epochs", type=int, default=None,
                        help="maximum epochs of every family (default: each family's recipe, vision.config.RECIPES)")
    parser.add_argument("--max-per-class", type=int, default=None, help="training images per class (CPU budget)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--tag", default="", help="suffix of the summary files, e.g. _cpu_budget")
    parser.add_argument("--efficiency-steps", type=int, default=20,
                        help="training steps timed on real and on synthetic batches per family, after a warm-up "
                             "(input pipeline efficiency; 0: not measured)")
    parser.add_argument("--efficiency-only", action="store_true",
                        help="measure every family's input pipeline efficiency (--efficiency-steps steps, 3 rounds) "
                             "and train nothing; writes vision_pipeline_efficiency{tag}.json/.md")
    parser.add_argument("--precision-only", action="store_true",
                        help="time every family's training step on synthetic batches in float32 and in the "
                             "reduced precision this machine trains in (bfloat16 on a CPU, float16 with a GPU; "
                             "--efficiency-steps steps, 3 rounds), beside what --mixed-precision auto picks; reads "
                             "no data, trains nothing; writes vision_precision_speed{tag}.json/.md")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a VisionConfig field for every model, e.g. --set batch_size=256")
    arguments = parser.parse_args(argv)
    settings = [name for name in arguments.settings.split(",") if name]
    for name in settings:
        if name not in SETTINGS:
            raise UserError(f"--settings: {name!r} is unknown; settings are {', '.join(SETTINGS)}")
    if arguments.efficiency_only and arguments.precision_only:
        raise UserError("--efficiency-only and --precision-only: choose one")
    timed_only = arguments.efficiency_only or arguments.precision_only
    if arguments.efficiency_steps < 0 or (timed_only and arguments.efficiency_steps < 1):
        raise UserError(f"--efficiency-steps must be >= 0 (>= 1 with --efficiency-only or --precision-only), got "
                        f"{arguments.efficiency_steps}")
    overrides = dict(core_config.parse_override(VisionConfig, item) for item in arguments.set)
    given = {"data": arguments.data, "max_per_class": arguments.max_per_class, "seed": arguments.seed, "verbose": 0,
             "test_curves": True, "run_dir": str(Path(arguments.out) / ".runs"),
             **({"epochs": arguments.epochs} if arguments.epochs is not None else {}), **overrides}
    base = core_config.build(VisionConfig, **given)
    base.validate()
    from vision import models

    names = arguments.models.split(",")
    for name in names:  # a typo costs nothing: checked before any image is decoded
        models.MODELS.get(name)
    from vision import benchmark

    configs = benchmark.configs_for(names, given)
    for config in configs.values():
        config.validate()
    if arguments.precision_only:
        return precision_only(arguments, configs)
    loaded = {name: load_groups(configs, arguments.three_classes if name == "cifar3" else None)
              for name in settings}  # every image decoded and checked before any training

    from core import report
    started = time.perf_counter()
    if arguments.efficiency_only:
        return efficiency_only(arguments, loaded, configs, started)
    results = {}
    for setting, groups in loaded.items():
        classes = groups[0][0]["train"].class_names
        print(f"{setting}: {', '.join(classes)}", flush=True)
        results[setting] = {"classes": classes,  # each family's split sizes: models.NAME.sizes
                            "thresholds": list(benchmark.THRESHOLDS[setting]), "models": {}}
        for parts, group in groups:
            results[setting]["models"].update(benchmark.run_setting(parts, group, setting,
                                                                    efficiency_steps=arguments.efficiency_steps))
    environment = report.environment()
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"vision_benchmark{arguments.tag}"
    summary = {"benchmark": "vision", "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), "data": arguments.data, "seed": arguments.seed, "epochs": arguments.epochs,
        "max_per_class": arguments.max_per_class, "wall_time_s": round(time.perf_counter() - started, 1),
        "environment": environment, "given": given,
        "configs": {name: core_config.to_dict(config) for name, config in configs.items()}, "settings": results}
    (out / f"{stem}.json").write_text(report.to_json(summary))
    figure = benchmark.time_to_accuracy_figure(results)
    figure.savefig(out / f"{stem}.png", dpi=90)
    (out / f"{stem}.md").write_text(benchmark.markdown(summary, f"{stem}.png"))
    print(f"summary: {out / f'{stem}.md'}")
    return 0


def load_groups(configs: dict, classes: str | None) -> list:
    """[(parts, {name: config})]: the families whose data options agree (a recipe may set its own validation
    fraction: the airbench nets' 4 %) share one load, so each trains on the split `train_vision.py` gives it."""
    groups = {}
    for name, config in configs.items():
        config = dataclasses.replace(config, classes=classes)
        key = repr(sorted(data.load_options(config).items()))
        groups.setdefault(key, (config, {}))[1][name] = configs[name]
    return [(data.load_for(config), group) for config, group in groups.values()]


def efficiency_only(arguments, loaded, configs, started) -> int:
    from core import report
    from vision import benchmark

    settings = {}
    for setting, groups in loaded.items():
        print(f"{setting}: {', '.join(groups[0][0]['train'].class_names)}", flush=True)
        settings[setting] = {}
        for parts, group in groups:
            settings[setting].update(benchmark.run_efficiency(parts, group, steps=arguments.efficiency_steps,
                                                              rounds=3))
    summary = {"benchmark": "vision input pipeline efficiency", "created": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds"), "data": arguments.data, "seed": arguments.seed,
        "steps": arguments.efficiency_steps, "rounds": 3, "wall_time_s": round(time.perf_counter() - started, 1),
        "environment": report.environment(),
        "configs": {name: core_config.to_dict(config) for name, config in configs.items()}, "settings": settings}
    return write_summary(arguments, "vision_pipeline_efficiency", summary, benchmark.efficiency_markdown)


def precision_only(arguments, configs) -> int:
    from core import report
    from vision import benchmark

    started = time.perf_counter()
    side = next(iter(configs.values())).image_size or 32  # CIFAR's side unless --set image_size says otherwise
    shape, num_classes = (side, side, 3), 10
    results = {}
    for name, config in configs.items():
        results[name] = values = benchmark.precision_speed(config, image_shape=shape, num_classes=num_classes,
                                                           steps=arguments.efficiency_steps, rounds=3)
        print(f"  {name}: " + ", ".join(f"{policy} {rate:.0f}" for policy, rate in values["images_per_s"].items())
              + f" images/s; auto picks {values['auto']}", flush=True)
    summary = {"benchmark": "vision training speed by precision", "created": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds"), "seed": arguments.seed, "image_shape": list(shape),
        "num_classes": num_classes, "steps": arguments.efficiency_steps, "rounds": 3,
        "wall_time_s": round(time.perf_counter() - started, 1), "environment": report.environment(),
        "configs": {name: core_config.to_dict(config) for name, config in configs.items()}, "models": results}
    return write_summary(arguments, "vision_precision_speed", summary, benchmark.precision_speed_markdown)


def write_summary(arguments, name: str, summary: dict, markdown) -> int:
    """`{name}{tag}.json` and `.md` (`markdown(summary)`) in --out, for the timing-only modes."""
    from core import report

    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{name}{arguments.tag}"
    (out / f"{stem}.json").write_text(report.to_json(summary))
    (out / f"{stem}.md").write_text(markdown(summary))
    print(f"summary: {out / f'{stem}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
