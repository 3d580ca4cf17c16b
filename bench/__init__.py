"""aigw's bench harness: starts the pieces of a benchmark (fast upstream, aigw, nginx as a
reference proxy), drives them with real load generators and writes JSON, markdown and a chart.

`python -m bench SCENARIO …` or `aigw bench SCENARIO …`; see docs/benchmarks.md.
"""
