"""``jobprobe serve``: the HTTP API, the dashboard pages, live updates and Prometheus metrics.

It calls the same store and analysis functions the CLI calls and computes nothing of its own.
"""
