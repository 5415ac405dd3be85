"""``newsmon bench``: performance measured against baselines from the same run."""
