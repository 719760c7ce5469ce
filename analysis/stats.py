"""Statistics over the repetitions of a cell: scipy does the work."""

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

CV_LIMIT = 0.10   # a spread wider than this (coefficient of variation) is not trusted
ALPHA = 0.05      # significance level of the Mann-Whitney U test
NOISE_FLOOR = 0.02  # a change smaller than 2 % is noise whatever the test says


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    min: float
    max: float
    mean: float
    cv: float        # sample standard deviation / mean; None when n < 2 or mean == 0
    ci_low: float    # 95 % t interval of the mean; None when n < 2
    ci_high: float
    values: tuple

    @property
    def noisy(self):
        return self.cv is not None and self.cv > CV_LIMIT


def summarize(values):
    """Median, min-max, mean, CV and 95 % t interval of repetitions (None when empty)."""
    a = np.asarray(list(values), dtype=float)
    if a.size == 0:
        return None
    mean = float(np.mean(a))
    cv = ci_low = ci_high = None
    if a.size >= 2:
        if mean != 0:
            cv = float(abs(stats.variation(a, ddof=1)))
        sem = stats.sem(a)
        if sem > 0:
            ci_low, ci_high = (float(x) for x in stats.t.interval(0.95, a.size - 1, loc=mean,
                                                                  scale=sem))
        else:
            ci_low = ci_high = mean
    return Summary(n=int(a.size), median=float(np.median(a)), min=float(a.min()),
                   max=float(a.max()), mean=mean, cv=cv, ci_low=ci_low, ci_high=ci_high,
                   values=tuple(float(x) for x in a))


@dataclass(frozen=True)
class Test:
    p: float          # two-sided Mann-Whitney U p-value (1.0 when the samples are identical)
    testable: bool    # can these sample sizes reach p < ALPHA at all?


def min_p_value(n1, n2):
    """The smallest two-sided exact Mann-Whitney p-value sizes n1, n2 can give."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return float(min(1.0, 2.0 / special.comb(n1 + n2, n1, exact=True)))


def mann_whitney(a, b):
    """Mann-Whitney U over two sets of repetitions, as Google Benchmark's compare.py."""
    a, b = list(a), list(b)
    testable = min_p_value(len(a), len(b)) < ALPHA
    if not a or not b:
        return Test(p=1.0, testable=False)
    if len(set(a) | set(b)) == 1:  # all equal: no evidence of any change
        return Test(p=1.0, testable=testable)
    result = stats.mannwhitneyu(a, b, alternative="two-sided")
    return Test(p=float(result.pvalue), testable=testable)


def ranges_overlap(a, b):
    return min(a) <= max(b) and min(b) <= max(a)
