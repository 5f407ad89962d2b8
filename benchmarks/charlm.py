"""How close the reference CharLM gets to the synthetic source's floor, and how fast (issue 13).

Trains the reference solution's ``CharLM`` (an LSTM) with its own ``train_lm`` on the order-2
Markov source of ``solutions/torch_lm.md`` (V = 8 ids, 3 allowed next ids per context, the
chain the book's chapter 6 uses), one pass over a fresh stream per learning rate, and measures
``evaluate_perplexity`` on held-out ids. Prints the validation perplexity divided by the floor
``exp(entropy_rate(P))`` and the CPU and wall seconds taken, data generation included.
Goal: a ratio of 1.01 or less within 20 s of CPU on 2 cores.

Each training pass reads new ids from the source, so the model never sees a token twice and the
gap to the floor is optimisation, not memorisation. Validation uses 4 rows: each row's first two
ids have no context, and with many rows those few blind guesses would inflate the ratio.

    .venv/bin/python benchmarks/charlm.py [--threads 1] [--stream 300000]
"""
import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import reference  # noqa: E402

GOAL_RATIO, GOAL_CPU = 1.01, 20.0
LEARNING_RATES = (1e-2, 5e-3, 2e-3, 1e-3)  # one pass each; Adam's noise shrinks with lr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (small matrices: more threads mostly wait)")
    parser.add_argument("--stream", type=int, default=300_000, help="ids per training pass")
    parser.add_argument("--valid", type=int, default=50_000, help="held-out ids")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    ref = reference.load("torch_lm")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    P = ref.markov_source(8, 3, args.seed)
    floor = math.exp(ref.entropy_rate(P))
    valid = ref.sample_markov(P, args.valid, 10_000 + args.seed)
    torch.manual_seed(args.seed)
    model = ref.CharLM(8, 16, 64)
    for i, lr in enumerate(LEARNING_RATES):
        ids = ref.sample_markov(P, args.stream, 100 + i)
        history = ref.train_lm(model, ids, epochs=1, batch_size=32, time_size=32, lr=lr,
                               max_norm=1.0)
        ppl = ref.evaluate_perplexity(model, valid, 4, 64)
        print(f"pass {i + 1}, lr {lr:g}: training {history[-1]:.4f}, validation {ppl:.4f} "
              f"({ppl / floor:.4f} x floor), {time.process_time() - cpu0:.1f} s CPU", flush=True)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    ratio = ppl / floor
    print(f"floor {floor:.4f}, validation perplexity {ppl:.4f}, ratio {ratio:.4f} "
          f"(goal <= {GOAL_RATIO}); {cpu:.1f} s CPU (goal <= {GOAL_CPU:.0f}), {wall:.1f} s wall, "
          f"{args.threads} thread(s)")
    return 0 if ratio <= GOAL_RATIO and cpu <= GOAL_CPU else 1


if __name__ == "__main__":
    sys.exit(main())
