"""Title: Baseline training data and check a new batch for drift
Description: statistics.json / constraints.json, then constraint_violations.json.
Needs: nothing (uses generated data)
"""

from mlaccel import monitor, products

train = products.generate("used_cars", 5000, seed=0)
batch = products.generate_drifted_batch("used_cars", 2000, seed=1)
baseline = monitor.compute_baseline(train)
result = monitor.check_against_baseline(batch, baseline)
sorted(result.flagged_features)
