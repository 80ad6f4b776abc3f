"""The educators' dashboard: the cxsim model in a Mesa SolaraViz page, with lessons.

Modules:

- ``lessons``    slider levers and lesson presets (plain data, no UI imports)
- ``live``       the model as the dashboard runs it (:class:`~analysis.dashboard.live.DashboardModel`),
                 :func:`~analysis.dashboard.live.trigger_shock` and the cached network sample
- ``components`` the Solara components (counters, network view, shock buttons, charts)
- ``app``        the Solara page (``Page``)
- ``serve``      ``cxsim dashboard [dashboard.port=N]``: serves the page on 127.0.0.1

The UI modules need the ``viz`` extra (``pip install -e '.[viz]'``); ``lessons`` and
``live`` only need the model's own dependencies.
"""
