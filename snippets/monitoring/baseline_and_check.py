"""Title: Baseline training data and check a new batch for drift
Description: statistics.json / constraints.json, then constraint_violations.json.
Needs: nothing (uses generated data)
"""

from mlaccel import demo, monitor

train = demo.generate("used_cars", 5000, seed=0)
batch = demo.generate("used_cars", 2000, seed=1).assign(mileage=lambda d: d["mileage"] * 1.5)
baseline = monitor.compute_baseline(train)
result = monitor.check_against_baseline(batch, baseline)
sorted(result.flagged_features)
