"""faultline analysis: reports, plots and run-vs-run comparison from stored results.

Run with Debian's interpreter (it has python3-matplotlib and python3-scipy):

    /usr/bin/python3 -m analysis.report results/<run>/ [more runs...] [--out DIR]
    /usr/bin/python3 -m analysis.compare results/A results/B
"""
