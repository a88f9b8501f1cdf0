"""Engines that compute a project's events: ``local`` (in-process) and ``spark`` (PySpark).

``base`` holds the interface, ``stages`` the per-vessel stages both engines run, ``local`` and
``spark`` the engines, ``spark_tasks`` what Spark's executors run (see docs/scaling.md).
"""
