"""`python run_bot.py bench`: the performance benchmark behind docs/benchmarks.md.

A dev command: it loads both embedding backends, builds synthetic corpora under a temporary
directory, and starts subprocesses to time cold starts. Nothing in the product imports it.
"""
