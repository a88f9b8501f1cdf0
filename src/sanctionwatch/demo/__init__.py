"""The bundled demo scenario: SIMULATED AIS on real geography and public reporting.

``sanctionwatch.demo.scenario.build_scenario(out_dir)`` writes monthly NMEA receiver logs, a
satellite-provider CSV with its column mapping, ``truth.json`` and ``SCENARIO.md``.

Modules: ``places`` (ports, berths, receivers), ``routes`` (sea lanes), ``vessels`` (the cast),
``tracks`` (true trajectories), ``story`` and ``background`` (itineraries and AIS on/off),
``reception`` (what receivers kept), ``aivdm`` (AIS encoding), ``writers`` (NMEA/CSV output),
``truth`` and ``document`` (truth.json and SCENARIO.md).
"""
