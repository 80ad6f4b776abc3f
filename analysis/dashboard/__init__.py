"""The educators' dashboard: the cxsim model (a Mesa model) in a Solara page, with lessons.

Modules:

- ``lessons``    slider levers, lesson presets and their claims (plain data, no UI imports)
- ``charts``     the charts as data: declared axes, runs A and B, shock bands, window means
- ``live``       the model as the dashboard runs it (:class:`~analysis.dashboard.live.DashboardModel`),
                 :func:`~analysis.dashboard.live.trigger_shock`, the cached network sample and
                 a browser session's state (:class:`~analysis.dashboard.live.Session`)
- ``components`` the Solara components (controls, counters, charts, network, shocks, info);
                 ``*.vue`` are the SVG templates the browser draws the charts with
- ``app``        the Solara page (``Page``) and its play loop
- ``serve``      ``cxsim dashboard [dashboard.port=N]``: serves the page on 127.0.0.1

The UI modules need the ``viz`` extra (``pip install -e '.[viz]'``); ``lessons``, ``charts``
and ``live`` only need the model's own dependencies.
"""
