"""Title: Split rows into train, validation and test
Description: A seeded random split by ratios, checked before anything runs.
Needs: nothing (uses a generated data product)
"""

import numpy as np

from mlaccel import demo, features

train_ratio, validation_ratio = 0.7, 0.15
features.check_split(train_ratio, validation_ratio)
rows = demo.generate("credit_risk", 1000, seed=0)
order = np.random.default_rng(0).permutation(len(rows))
n_train, n_val = int(len(rows) * train_ratio), int(len(rows) * validation_ratio)
train = rows.iloc[order[:n_train]]
validation = rows.iloc[order[n_train : n_train + n_val]]
test = rows.iloc[order[n_train + n_val :]]
len(train), len(validation), len(test)
