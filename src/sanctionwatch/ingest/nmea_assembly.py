"""Assembly of multi-sentence AIS messages (IEC 61162-1 encapsulation, up to 9 fragments).

Fragments belong together when they share a *key*: the sentence tag (talker and VDM/VDO),
the radio channel, the sequential message id and the fragment count. That is what separates
messages interleaved across channels or sequence ids. Policy for fragments that cannot be
assembled, each fragment line then being quarantined as ``orphan_fragment``:

* **window**: a message must complete within ``window`` AIS sentences after its first
  fragment arrived (``ingest.nmea_fragment_window_sentences``);
* **duplicate**: a fragment number that the pending message already has means the earlier
  transmission was cut off; the pending fragments are orphaned and the new fragment starts
  a new message;
* **no sequence id**: with an empty sequence id nothing but adjacency ties the fragments
  together, so the next sentence on the same tag and channel must continue the message;
* **end of file**: whatever is still pending.

Fragments may arrive in any order (satellite feeds reorder); a message is complete when it
has every number from 1 to the count.
"""

from __future__ import annotations

from typing import Final

__all__ = ["Fragment", "FragmentAssembler", "Orphan"]

MAX_FRAGMENTS: Final = 9  # IEC 61162-1: an encapsulated message spans 1..9 sentences


class Fragment:
    """One VDM/VDO sentence whose framing and checksum are valid."""

    __slots__ = ("count", "fill_bits", "line_no", "num", "payload", "sentence", "seq", "source",
                 "text", "ts_error", "ts_us")

    def __init__(self, source: tuple[bytes, bytes], seq: bytes, num: int, count: int,
                 payload: bytes, fill_bits: int, sentence: bytes, line_no: int, text: str,
                 ts_us: int | None, ts_error: str | None) -> None:
        self.source = source  # (sentence tag e.g. b"!AIVDM", channel)
        self.seq = seq  # sequential message id as written, b"" when empty
        self.num = num
        self.count = count
        self.payload = payload
        self.fill_bits = fill_bits
        self.sentence = sentence  # the bare sentence "!AIVDM,...*hh" for pyais
        self.line_no = line_no
        self.text = text  # the whole log line, for the raw column
        self.ts_us = ts_us
        self.ts_error = ts_error

    def describe(self) -> str:
        seq = self.seq.decode() or "none"
        channel = self.source[1].decode() or "none"
        return f"fragment {self.num} of {self.count} (sequence id {seq}, channel {channel})"


#: a fragment that will never be assembled, with the reason in words
Orphan = tuple[Fragment, str]
_Key = tuple[tuple[bytes, bytes], bytes, int]


class _Pending:
    __slots__ = ("parts", "start")

    def __init__(self, start: int, first: Fragment) -> None:
        self.start = start  # AIS sentence number of the first fragment that arrived
        self.parts: dict[int, Fragment] = {first.num: first}


class FragmentAssembler:
    """Collects fragments; :meth:`add` returns completed messages and fragments given up on."""

    def __init__(self, window_sentences: int) -> None:
        self.window_sentences = window_sentences
        # The window's clock: VDM/VDO sentences seen so far, valid or not. The caller advances
        # it for every such sentence (an attribute, not a method: it is on the hot path).
        self.sentences = 0
        # insertion order == order of ``start``, so expiry only ever looks at the front;
        # public so that the reader's fast path can see "nothing pending" without a call
        self.pending: dict[_Key, _Pending] = {}
        self._unsequenced: dict[tuple[bytes, bytes], _Key] = {}

    def add(self, frag: Fragment) -> tuple[list[Fragment] | None, list[Orphan]]:
        """Feed one valid sentence (single-sentence messages too, while anything is pending).

        Returns the fragments of the message this sentence completes (in fragment order) or
        None, and the fragments orphaned by this arrival.
        """
        orphans: list[Orphan] = []
        if self.pending:
            self._expire(orphans)
            open_key = self._unsequenced.get(frag.source) if self._unsequenced else None
            if open_key is not None and (frag.seq or frag.count != open_key[2]):
                self._orphan(open_key, orphans,
                             "interrupted by another sentence on its channel (no sequence id, "
                             "so its fragments must be adjacent)")
        if frag.count == 1:
            return [frag], orphans
        key = (frag.source, frag.seq, frag.count)
        pending = self.pending.get(key)
        if pending is not None and frag.num in pending.parts:
            self._orphan(key, orphans,
                         f"fragment {frag.num} arrived again before the message was complete")
            pending = None
        if pending is None:
            self.pending[key] = _Pending(self.sentences, frag)
            if not frag.seq:
                self._unsequenced[frag.source] = key
            return None, orphans
        pending.parts[frag.num] = frag
        if len(pending.parts) < frag.count:
            return None, orphans
        self._drop(key)
        return [pending.parts[i] for i in range(1, frag.count + 1)], orphans

    def flush(self) -> list[Orphan]:
        """At end of input: every pending fragment is an orphan."""
        orphans: list[Orphan] = []
        for key in list(self.pending):
            self._orphan(key, orphans, "message still incomplete at end of file")
        return orphans

    def _expire(self, orphans: list[Orphan]) -> None:
        oldest_allowed = self.sentences - self.window_sentences
        while self.pending:
            key, pending = next(iter(self.pending.items()))
            if pending.start >= oldest_allowed:
                return
            self._orphan(key, orphans,
                         f"other fragments did not arrive within {self.window_sentences} sentences")

    def _orphan(self, key: _Key, orphans: list[Orphan], why: str) -> None:
        pending = self._drop(key)
        for num in sorted(pending.parts):
            frag = pending.parts[num]
            orphans.append((frag, f"{frag.describe()}: {why}"))

    def _drop(self, key: _Key) -> _Pending:
        pending = self.pending.pop(key)
        if not key[1] and self._unsequenced.get(key[0]) == key:
            del self._unsequenced[key[0]]
        return pending
