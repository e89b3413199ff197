"""Evaluation: the paper's benchmark registry, metrics, runner, report and side-by-side comparison."""
