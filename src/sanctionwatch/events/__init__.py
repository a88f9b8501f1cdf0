"""Events: what vessels did, as rows of :data:`sanctionwatch.schema.EVENTS`.

Each detector is a small strategy with one verb, ``detect(segmented) -> EVENTS rows``
(:class:`~sanctionwatch.events.base.Detector`), run on the output of
:func:`sanctionwatch.tracks.segment.segment` for any number of vessels (partition by MMSI):

* :mod:`~sanctionwatch.events.gaps` -- AIS gaps and GFW's "likely disabling" subset;
* :mod:`~sanctionwatch.events.port_visits` -- port visits from a resumable state machine with
  hysteresis, GFW confidence 1-4; ports from :mod:`~sanctionwatch.events.ports`;
* spoofing indicators live with segmentation, in :mod:`sanctionwatch.tracks.spoofing`.

Every row carries a deterministic ``event_id`` and the ``params_id`` of the settings used
(:mod:`~sanctionwatch.events.base`).
"""
