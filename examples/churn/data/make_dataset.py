#!/usr/bin/python3
"""Generate data/churn.csv: a synthetic, deterministic customer-churn table.

The CSV is committed; this script is kept so anyone can see (and reproduce)
how it was made:

    /usr/bin/python3 data/make_dataset.py --rows 2000 --seed 7 --out data/churn.csv

Churn is drawn from a logistic model of the features (short tenure,
month-to-month contracts, many support calls, fiber internet, high charges
and electronic-check payment all raise the risk), so a model has a real signal
to learn, plus label noise so it cannot be learned perfectly.
"""
import argparse
import csv

import numpy as np

CONTRACTS = ["month-to-month", "one-year", "two-year"]
INTERNET = ["dsl", "fiber", "none"]
PAYMENT = ["electronic-check", "mailed-check", "bank-transfer", "credit-card"]


def generate(rows: int, seed: int):
    rng = np.random.default_rng(seed)
    contract = rng.choice(CONTRACTS, size=rows, p=[0.55, 0.25, 0.20])
    # Longer contracts go with longer tenure.
    tenure_scale = np.select(
        [contract == "month-to-month", contract == "one-year"], [14.0, 30.0], 45.0
    )
    tenure = np.clip(np.round(rng.exponential(tenure_scale)), 1, 72).astype(int)
    internet = rng.choice(INTERNET, size=rows, p=[0.35, 0.45, 0.20])
    base = np.select([internet == "fiber", internet == "dsl"], [70.0, 45.0], 20.0)
    monthly = np.round(base + rng.gamma(2.0, 10.0, size=rows), 2)
    total = np.round(monthly * tenure * rng.normal(1.0, 0.03, size=rows), 2)
    payment = rng.choice(PAYMENT, size=rows, p=[0.35, 0.20, 0.22, 0.23])
    paperless = rng.binomial(1, 0.6, size=rows)
    senior = rng.binomial(1, 0.16, size=rows)
    support_calls = rng.poisson(np.where(internet == "fiber", 2.2, 1.3))

    logit = (
        -3.4
        + 3.8 * (contract == "month-to-month")
        - 1.2 * (contract == "two-year")
        - 0.14 * tenure
        + 1.1 * support_calls
        + 0.9 * (internet == "fiber")
        + 0.02 * (monthly - 65.0)
        + 0.8 * (payment == "electronic-check")
        + 0.3 * paperless
        + 0.4 * senior
    )
    churned = rng.binomial(1, 1.0 / (1.0 + np.exp(-logit)))

    for i in range(rows):
        yield {
            "customer_id": f"C{i + 1:05d}",
            "tenure_months": int(tenure[i]),
            "monthly_charges": f"{monthly[i]:.2f}",
            "total_charges": f"{total[i]:.2f}",
            "contract": contract[i],
            "internet_service": internet[i],
            "payment_method": payment[i],
            "paperless_billing": int(paperless[i]),
            "senior_citizen": int(senior[i]),
            "support_calls": int(support_calls[i]),
            "churned": int(churned[i]),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="data/churn.csv")
    args = ap.parse_args()
    rows = list(generate(args.rows, args.seed))
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    rate = sum(r["churned"] for r in rows) / len(rows)
    print(f"wrote {len(rows)} rows to {args.out} (churn rate {rate:.1%})")


if __name__ == "__main__":
    main()
