"""Prometheus metrics and the health figures.

``meter.Meter`` is what services report to (one check while metrics are off);
``prometheus.Instruments`` holds the Prometheus metrics and renders a scrape;
``requests.RequestMetrics`` and ``health.HealthFigures`` observe every request;
``service.MetricsService`` turns them on and off with the settings and answers
``/api/metrics`` and the superuser's part of ``/api/health``.
"""
