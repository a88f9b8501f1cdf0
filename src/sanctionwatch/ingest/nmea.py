"""Reader for raw NMEA 0183 AIS logs (``!AIVDM``/``!AIVDO`` with any talker).

Pipeline per line: framing (:mod:`~sanctionwatch.ingest.nmea_framing`: timestamp prefix, tag
blocks, checksum, USCG trailer, Gatehouse wrapper) -> multi-sentence assembly
(:mod:`~sanctionwatch.ingest.nmea_assembly`) -> payload decoding with pyais and mapping to the
raw columns (:mod:`~sanctionwatch.ingest.nmea_decode`). The file is read line by line in
binary and a :class:`~sanctionwatch.ingest.base.RawChunk` is yielded every
``ingest.chunk_rows`` lines, so memory is bounded whatever the file size.

What the reader quarantines itself, one row per problem with ``record_no`` = the 1-based line
number (for a message: the line of its fragment 1; an orphan: its own line): ``invalid_utf8``,
``malformed_sentence``, ``bad_checksum``, ``orphan_fragment`` and ``decode_error``. Everything
that parses is passed on, even lat 91 / lon 181 or a missing timestamp:
:mod:`~sanctionwatch.ingest.validate` quarantines those with their own reasons.

Timestamps, highest priority first: tag block ``c:``, the line's prefix column, the USCG
trailer time, the preceding Gatehouse ``$PGHP`` line; a multi-sentence message takes the first
fragment that has one. A source that is present but unusable (unparseable, or its checksum
fails) gives ``ts_utc`` null, ``ts_error`` = ``"bad_timestamp"`` and ``ts_text`` unless a
lower-priority source is good. No source at all: ``options["default_time"]`` if given, else
null (the validator's ``no_timestamp``).

Checksums: a sentence whose checksum fails is quarantined. A tag block whose checksum is given
and wrong makes its ``c:`` untrusted (``bad_timestamp``); no checksum, or the ``*00`` placeholder
that Spire writes instead of computing one, is accepted. A Gatehouse wrapper with a wrong
checksum likewise dates nothing. Fragment assembly and its window policy are described in
:mod:`~sanctionwatch.ingest.nmea_assembly`.

Single-sentence position reports (types 1, 2, 3, 18, 27: most of any feed) are queued and
checksummed (numpy) and decoded (:class:`~sanctionwatch.ingest.nmea_decode.PositionBatchDecoder`)
once per chunk: by default vectorised
(:class:`~sanctionwatch.ingest.nmea_decode.VectorisedPositionDecoder`, ``docs/decode.md``), with
pyais for the odd ones; another decoder can be passed to :class:`NmeaReader`.

Skipped and counted (``skipped_by_kind``): ``blank``, ``comment`` (``#``), ``other_sentence``
(``$GPRMC``, ``$PGHP``, ``!AIALR``...) and ``non_position_type`` (complete AIS messages of types
other than 1, 2, 3, 5, 18, 19, 24, 27, one count per message).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from functools import reduce
from operator import xor
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.ingest.base import (
    IDENTITY_RAW_SCHEMA,
    POSITION_RAW_SCHEMA,
    QUARANTINE_RAW_SCHEMA,
    InputError,
    RawChunk,
)
from sanctionwatch.ingest.nmea_assembly import MAX_FRAGMENTS, Fragment, FragmentAssembler
from sanctionwatch.ingest.nmea_decode import (
    BATCH_POSITION_TYPES,
    DECODED_TYPES,
    POSITION_TYPES,
    SIXBIT_VALUE,
    STATIC_TYPES,
    ClassBIdentities,
    DecodeError,
    PositionBatchDecoder,
    VectorisedPositionDecoder,
    decode_message,
    identity_fields,
    message_type,
    payload_problem,
    position_fields,
)
from sanctionwatch.ingest.nmea_framing import (
    BANG,
    DOLLAR,
    HEX2,
    NO_TIME,
    TimeInfo,
    gatehouse_time,
    parse_prefix_time,
    split_line,
    tag_block_time,
    uscg_trailer_time,
)

__all__ = ["IDENTITY_COLUMNS", "POSITION_COLUMNS", "NmeaReader"]

_EXTRA_COLUMNS: Final[dict[str, pl.DataType]] = {
    "raw": pl.String(),
    "ts_error": pl.String(),  # "bad_timestamp" when a timestamp was present but unusable
    "ts_text": pl.String(),  # what that timestamp looked like
}
POSITION_COLUMNS: Final[dict[str, pl.DataType]] = {**POSITION_RAW_SCHEMA, **_EXTRA_COLUMNS}
IDENTITY_COLUMNS: Final[dict[str, pl.DataType]] = {**IDENTITY_RAW_SCHEMA, **_EXTRA_COLUMNS}
_UTC: Final = pl.Datetime("us", "UTC")

HASH: Final = 0x23  # "#" starts a comment line
COMMA: Final = 0x2C
_VDM_VDO: Final = (b"VDM", b"VDO")
_GATEHOUSE: Final = b"$PGHP"
_SENTENCE_FIELDS: Final = 7  # !AIVDM,count,number,seq id,channel,payload,fill bits
_TAG_END: Final = 6  # "!AIVDM" is 6 bytes; the comma follows
_MAX_FILL_BITS: Final = 5  # a six-bit character holds at most 5 padding bits
_SMALL_INTS: Final[dict[bytes, int]] = {str(i).encode(): i for i in range(10)}
_TAG_CACHE_MAX: Final = 4096  # distinct tag blocks remembered (lines of one second share one)
_BITS_PER_CHAR: Final = 6

SNIFF_HEAD_BYTES: Final = 64 * 1024  # Reader.sniff is given the first 64 kB of the file
# Sniffing: a line is NMEA if, after an optional timestamp column and tag block, it starts a
# sentence; the timestamp column is a UNIX time (10 or 13 digits) or an ISO date-time.
_SNIFF_PREFIX = (
    rb"(?:(?:\d{10}|\d{13})(?:\.\d+)?[ \t;,]+"
    rb"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?[ \t;,]+)?"
    rb"(?:\\[^\\]*\\)?"
)
_SNIFF_SENTENCE: Final = re.compile(_SNIFF_PREFIX + rb"[!$][A-Z]{2}")
_SNIFF_AIS: Final = re.compile(_SNIFF_PREFIX + rb"![A-Z]{2}VD[MO],[1-9],[1-9],")


class NmeaReader:
    """The ``nmea`` format: raw AIS NMEA 0183 logs. See the module docstring for the rules."""

    name = "nmea"
    description = ("raw AIS NMEA 0183 (!AIVDM/!AIVDO, any talker; NMEA 4.0 tag blocks, "
                   "timestamp prefixes, USCG and Gatehouse metadata)")

    def __init__(self, position_decoder: PositionBatchDecoder | None = None) -> None:
        self.position_decoder: PositionBatchDecoder = position_decoder or VectorisedPositionDecoder()

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if most content lines of ``head`` are NMEA sentences and some are AIS."""
        lines = head.splitlines()
        if len(head) >= SNIFF_HEAD_BYTES and lines and not head.endswith((b"\n", b"\r")):
            lines = lines[:-1]  # the last line is cut off
        content = nmea = ais = 0
        for raw in lines:
            line = raw.strip()
            if not line or line[0] == HASH:
                continue
            content += 1
            if _SNIFF_SENTENCE.match(line):
                nmea += 1
                if _SNIFF_AIS.match(line):
                    ais += 1
        return ais > 0 and 2 * nmea >= content

    def read(self, path: Path, config: Config, options: dict[str, Any]) -> Iterator[RawChunk]:
        default_us = _default_time_us(path, options.get("default_time"))
        try:
            handle = open(path, "rb")  # closed by the with below, across yields
        except OSError as err:
            raise InputError(path, f"cannot open: {err.strerror or err}") from err
        with handle:
            parser = _LogParser(path, config, default_us, self.position_decoder)
            yield from parser.run(handle)


def _default_time_us(path: Path, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as err:
            raise InputError(path, f"default_time {value!r} is not an ISO 8601 date-time") from err
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InputError(path, f"default_time must be a timezone-aware datetime, got {value!r}")
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


class _LogParser:
    """State of one read: the current chunk's columns, pending fragments, merge state."""

    def __init__(self, path: Path, config: Config, default_us: int | None,
                 position_decoder: PositionBatchDecoder) -> None:
        self.path = path
        self.chunk_rows = int(config["ingest.chunk_rows"])
        self.raw_max = int(config["ingest.quarantine_raw_max_chars"])
        self.default_us = default_us
        self.position_decoder = position_decoder
        self.assembler = FragmentAssembler(int(config["ingest.nmea_fragment_window_sentences"]))
        self.class_b = ClassBIdentities()
        self.gatehouse: TimeInfo | None = None  # time of the last $PGHP, for the next sentence
        self.tag_cache: dict[bytes, TimeInfo] = {}
        self.last_prefix = b""
        self.last_prefix_time: TimeInfo = NO_TIME
        # a first chunk with lines but no sentence at all is not an NMEA log: refused
        self.sentences_seen = 0
        self.not_nmea_lines = 0
        self.chunks_yielded = 0
        self._new_chunk()

    # -- chunk columns -------------------------------------------------------------------
    def _new_chunk(self) -> None:
        self.skipped: dict[str, int] = {}
        # Single-sentence position reports: checksum and decode happen at flush, in bulk
        # (the checksum with numpy, the decode by ``position_decoder``).
        self.b_expected: list[int] = []  # the checksum written in the sentence
        self.b_payload: list[bytes] = []
        self.b_fill: list[int] = []
        self.b_sentence: list[bytes] = []
        self.b_ts: list[int | None] = []
        self.b_ts_text: list[str | None] = []
        self.b_record: list[int] = []
        self.b_raw: list[str] = []
        # other positions and identities, decoded message by message
        self.p_rows: list[tuple[Any, ...]] = []
        self.i_rows: list[tuple[Any, ...]] = []
        self.q_rows: list[tuple[int, str, str, str]] = []

    def _skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def _quarantine(self, line_no: int, reason: str, detail: str, raw: str) -> None:
        self.q_rows.append((line_no, reason, detail, raw[: self.raw_max]))

    # -- the loop ------------------------------------------------------------------------
    def run(self, handle: IO[bytes]) -> Iterator[RawChunk]:
        chunk_rows = self.chunk_rows
        sentence = self._sentence
        line_no = 0
        lines_in_chunk = 0
        bytes_read = 0
        for raw_line in handle:
            line_no += 1
            lines_in_chunk += 1
            bytes_read += len(raw_line)
            line = raw_line.strip()
            if not line:
                self._skip("blank")
            elif not line.isascii() and not _is_utf8(line):
                self.not_nmea_lines += 1
                self._quarantine(line_no, "invalid_utf8", "line contains bytes that are not UTF-8",
                                 line.decode("utf-8", "replace"))
            elif line[0] == BANG:  # the common case: a bare sentence, nothing before it
                sentence(None, line, NO_TIME, line_no, line.decode("utf-8"))
            elif line[0] == HASH:
                self._skip("comment")
            else:
                self._line(line, line_no)
            if lines_in_chunk >= chunk_rows:
                yield self._flush(lines_in_chunk, bytes_read, line_no)
                lines_in_chunk = 0
        for frag, why in self.assembler.flush():
            self._quarantine(frag.line_no, "orphan_fragment", why, frag.text)
        if lines_in_chunk or self.q_rows or self.chunks_yielded == 0:
            yield self._flush(lines_in_chunk, bytes_read, line_no)

    def _line(self, line: bytes, line_no: int) -> None:
        """A line with a prefix, tag block(s) or a "$" sentence."""
        text = line.decode("utf-8")
        split = split_line(line)
        if split is None:
            self.not_nmea_lines += 1
            self._quarantine(line_no, "malformed_sentence",
                             "no NMEA sentence in the line (no '!', '$' or tag block)", text)
            return
        prefix, pairs = split
        prefix_time = NO_TIME
        if prefix:
            if prefix != self.last_prefix:
                self.last_prefix = prefix
                self.last_prefix_time = parse_prefix_time(prefix)
            prefix_time = self.last_prefix_time
        for tag, sentence in pairs:
            self._sentence(tag, sentence, prefix_time, line_no, text)

    def _sentence(self, tag: bytes | None, sentence: bytes, prefix_time: TimeInfo,
                  line_no: int, text: str) -> None:
        """Frame one sentence, check it and route it (batch, assembler or message)."""
        if len(sentence) <= _TAG_END or sentence[_TAG_END] != COMMA or sentence[0] != BANG \
                or sentence[3:_TAG_END] not in _VDM_VDO:
            self._not_ais(sentence, line_no, text)
            return
        self.sentences_seen += 1
        assembler = self.assembler
        assembler.sentences += 1
        gatehouse = self.gatehouse
        self.gatehouse = None  # a Gatehouse wrapper dates exactly the next AIS sentence
        star = sentence.find(b"*", _TAG_END)
        expected = HEX2.get(sentence[star + 1:star + 3]) if star > 0 else None
        trailer = sentence[star + 3:]
        if expected is None or (trailer and trailer[0] != COMMA):
            self._quarantine(line_no, "malformed_sentence", _checksum_field_problem(sentence, star),
                             text)
            return
        body = sentence[1:star]
        fields = body.split(b",")
        if len(fields) != _SENTENCE_FIELDS:
            self._check_then_quarantine(body, expected, line_no, text,
                                        f"{len(fields)} fields, {_SENTENCE_FIELDS} expected")
            return
        tag_name, count_text, num_text, seq, channel, payload, fill_text = fields
        count = _SMALL_INTS.get(count_text, 0)
        num = _SMALL_INTS.get(num_text, 0)
        fill_bits = _SMALL_INTS.get(fill_text, -1)
        if not 1 <= count <= MAX_FRAGMENTS or not 1 <= num <= count \
                or not 0 <= fill_bits <= _MAX_FILL_BITS or (seq and not seq.isdigit()):
            self._check_then_quarantine(body, expected, line_no, text, _field_problem(fields))
            return

        # timestamp: the first usable source wins; otherwise the first unusable one is reported
        ts_us, ts_text = NO_TIME
        if tag is not None:
            tag_time = self.tag_cache.get(tag)
            if tag_time is None:
                if len(self.tag_cache) >= _TAG_CACHE_MAX:
                    self.tag_cache.clear()
                tag_time = self.tag_cache[tag] = tag_block_time(tag)
            ts_us, ts_text = tag_time
        if ts_us is None and (prefix_time is not NO_TIME or trailer or gatehouse is not None):
            for source in (prefix_time, (uscg_trailer_time(trailer) if trailer else None, None),
                           gatehouse or NO_TIME):
                if source[0] is not None:
                    ts_us, ts_text = source[0], None
                    break
                if ts_text is None:
                    ts_text = source[1]
        bare = sentence[:star + 3] if trailer else sentence

        if count == 1 and not assembler.pending \
                and payload and SIXBIT_VALUE[payload[0]] in BATCH_POSITION_TYPES:
            # the hot path: checksum and decode are deferred to the batch at flush
            self._to_batch(expected, payload, fill_bits, bare, ts_us, ts_text, line_no, text)
            return

        computed = reduce(xor, body, 0)
        if computed != expected:
            self._quarantine(line_no, "bad_checksum", _checksum_detail(expected, computed), text)
            return
        frag = Fragment((tag_name, channel), seq, num, count, payload, fill_bits, bare, line_no,
                        text, ts_us, ts_text)
        if count == 1 and not assembler.pending:
            self._message([frag])
            return
        done, orphans = assembler.add(frag)
        for orphan, why in orphans:
            self._quarantine(orphan.line_no, "orphan_fragment", why, orphan.text)
        if done is not None:
            self._message(done)

    def _to_batch(self, expected: int, payload: bytes, fill_bits: int, sentence: bytes,
                  ts_us: int | None, ts_text: str | None, line_no: int, text: str) -> None:
        """Queue a single-sentence position report (``sentence`` ends at its checksum) for the
        bulk checksum and decode."""
        if ts_us is None and ts_text is None:
            ts_us = self.default_us
        self.b_expected.append(expected)
        self.b_payload.append(payload)
        self.b_fill.append(fill_bits)
        self.b_sentence.append(sentence)
        self.b_ts.append(ts_us)
        self.b_ts_text.append(ts_text)
        self.b_record.append(line_no)
        self.b_raw.append(text if len(text) <= self.raw_max else text[: self.raw_max])

    def _not_ais(self, sentence: bytes, line_no: int, text: str) -> None:
        """Anything framed that is not a VDM/VDO sentence: skipped, or malformed."""
        if sentence and sentence[0] in (BANG, DOLLAR):
            self.sentences_seen += 1
            if sentence[:5] == _GATEHOUSE:
                self.gatehouse = gatehouse_time(sentence)
            self._skip("other_sentence")
            return
        self.not_nmea_lines += 1
        why = ("tag block not closed with '\\'" if sentence[:1] == b"\\"
               else "empty sentence after a tag block" if not sentence
               else "text is not an NMEA sentence")
        self._quarantine(line_no, "malformed_sentence", why, text)

    def _check_then_quarantine(self, body: bytes, expected: int, line_no: int, text: str,
                               malformed: str) -> None:
        """A wrong checksum explains broken fields, so it takes precedence."""
        computed = reduce(xor, body, 0)
        if computed != expected:
            self._quarantine(line_no, "bad_checksum", _checksum_detail(expected, computed), text)
        else:
            self._quarantine(line_no, "malformed_sentence", malformed, text)

    def _message(self, frags: list[Fragment]) -> None:
        """Route one complete message: batch, decode now, skip or quarantine."""
        first = frags[0]
        msg_type = message_type(first.payload)
        if len(frags) == 1:
            raw = first.text if len(first.text) <= self.raw_max else first.text[: self.raw_max]
            if msg_type in BATCH_POSITION_TYPES:
                self._to_batch(reduce(xor, first.sentence[1:-3], 0),  # already checked
                               first.payload, first.fill_bits, first.sentence, first.ts_us,
                               first.ts_error, first.line_no, raw)
                return
        else:
            # distinct lines only: Spire puts several fragments on one line
            raw = "\n".join(dict.fromkeys(f.text for f in frags))[: self.raw_max]
        if not first.payload:
            self._quarantine(first.line_no, "decode_error", "empty payload", raw)
            return
        if msg_type >= 0 and msg_type not in DECODED_TYPES:
            self._skip("non_position_type")
            return
        payloads = [f.payload for f in frags]
        bits = sum(len(p) for p in payloads) * _BITS_PER_CHAR - frags[-1].fill_bits
        problem = payload_problem(msg_type, payloads, bits)
        if problem is not None:
            self._quarantine(first.line_no, "decode_error", problem, raw)
            return
        try:
            msg = decode_message([f.sentence for f in frags])
            position = position_fields(msg) if msg_type in POSITION_TYPES else None
            identity = identity_fields(msg, bits, self.class_b) if msg_type in STATIC_TYPES else None
        except DecodeError as err:
            self._quarantine(first.line_no, "decode_error", str(err), raw)
            return
        ts_us, ts_text = _message_time(frags)
        if ts_us is None and ts_text is None:
            ts_us = self.default_us
        tail = (first.line_no, raw, ts_text)
        if position is not None:
            self.p_rows.append((*position, ts_us, *tail))
        if identity is not None:
            self.i_rows.append((*identity, ts_us, *tail))

    # -- building the chunk ------------------------------------------------------------
    def _flush(self, lines: int, bytes_read: int, line_no: int) -> RawChunk:
        if self.chunks_yielded == 0 and self.not_nmea_lines and not self.sentences_seen:
            raise InputError(self.path, "no NMEA 0183 sentence in the first "
                             f"{line_no} lines: not an NMEA log (wrong --format?)", line=1)
        positions, batch_quarantine = self._positions()
        quarantine = pl.concat([
            pl.DataFrame(self.q_rows, schema=QUARANTINE_RAW_SCHEMA, orient="row"),
            batch_quarantine,
        ]).sort("record_no", maintain_order=True)
        chunk = RawChunk(
            positions=positions,
            identities=self._identities(),
            quarantine=quarantine,
            records_read=lines,
            skipped=sum(self.skipped.values()),
            skipped_by_kind=dict(self.skipped),
            bytes_read=bytes_read,
        )
        self.chunks_yielded += 1
        self._new_chunk()
        return chunk

    def _positions(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Check and decode the batch; merge with the other positions. Also the batch's rejects."""
        meta = pl.DataFrame({
            "ts_utc": pl.Series(self.b_ts, dtype=pl.Int64).cast(_UTC),
            "record_no": pl.Series(self.b_record, dtype=pl.Int64),
            "raw": pl.Series(self.b_raw, dtype=pl.String),
            "ts_text": pl.Series(self.b_ts_text, dtype=pl.String),
        })
        computed = _xor_each([s[1:-3] for s in self.b_sentence])  # between "!" and "*hh"
        expected = np.asarray(self.b_expected, dtype=np.uint8)
        good = computed == expected
        bad_checksum = meta.filter(pl.Series(~good)).select(
            "record_no",
            pl.lit("bad_checksum").alias("reason"),
            pl.Series([_checksum_detail(int(e), int(c)) for e, c
                       in zip(expected[~good], computed[~good], strict=True)],
                      dtype=pl.String).alias("detail"),
            "raw",
        )
        keep = np.flatnonzero(good).tolist()
        decoded = self.position_decoder.decode(
            [self.b_payload[i] for i in keep], [self.b_fill[i] for i in keep],
            [self.b_sentence[i] for i in keep],
        ) if len(keep) < len(good) else self.position_decoder.decode(
            self.b_payload, self.b_fill, self.b_sentence)
        batch = pl.concat([decoded, meta.filter(pl.Series(good))], how="horizontal")
        failed = batch.filter(pl.col("decode_error").is_not_null()).select(
            "record_no", pl.lit("decode_error").alias("reason"),
            pl.col("decode_error").alias("detail"), "raw",
        )
        others = _frame(self.p_rows, _POSITION_ROW, POSITION_COLUMNS)
        positions = pl.concat([
            batch.filter(pl.col("decode_error").is_null()).select(_POSITION_ROW),
            others,
        ])
        positions = _with_ts_error(positions).select(list(POSITION_COLUMNS)).sort(
            "record_no", maintain_order=True)
        return positions, pl.concat([bad_checksum, failed]).cast(pl.Schema(QUARANTINE_RAW_SCHEMA))

    def _identities(self) -> pl.DataFrame:
        frame = _frame(self.i_rows, _IDENTITY_ROW, IDENTITY_COLUMNS)
        return _with_ts_error(frame).select(list(IDENTITY_COLUMNS))


# column order of the row tuples built in _LogParser._message
_POSITION_ROW: Final = ["mmsi", "lat_deg", "lon_deg", "sog_knots", "cog_deg", "heading_deg",
                        "nav_status", "msg_type", "accuracy", "ts_utc", "record_no", "raw",
                        "ts_text"]
_IDENTITY_ROW: Final = ["mmsi", "imo", "name", "call_sign", "ship_type", "transceiver_class",
                        "to_bow_m", "to_stern_m", "to_port_m", "to_starboard_m", "draught_m",
                        "destination", "eta_text", "ts_utc", "record_no", "raw", "ts_text"]


def _xor_each(bodies: list[bytes]) -> np.ndarray:
    """NMEA checksum of every body at once: XOR-reduce each byte run of the joined bytes."""
    if not bodies:
        return np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    starts = np.zeros(len(bodies), dtype=np.int64)
    np.cumsum([len(b) for b in bodies[:-1]], out=starts[1:])
    return np.bitwise_xor.reduceat(data, starts)


def _checksum_detail(expected: int, computed: int) -> str:
    return f"checksum {expected:02X} in the sentence, {computed:02X} computed"


def _checksum_field_problem(sentence: bytes, star: int) -> str:
    if star < 0:
        return "no '*' checksum (sentence truncated?)"
    if HEX2.get(sentence[star + 1:star + 3]) is None:
        return "checksum after '*' is not two hex digits"
    return "unexpected text after the checksum"


def _frame(rows: list[tuple[Any, ...]], names: list[str],
           schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Row tuples -> typed frame (``ts_utc`` arrives as integer microseconds)."""
    types = {n: (pl.Int64() if n == "ts_utc" else schema[n]) for n in names}
    frame = pl.DataFrame(rows, schema=types, orient="row")
    return frame.with_columns(pl.col("ts_utc").cast(_UTC))


def _with_ts_error(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("ts_text").is_not_null()).then(pl.lit("bad_timestamp"))
        .otherwise(None).cast(pl.String).alias("ts_error")
    )


def _message_time(frags: list[Fragment]) -> TimeInfo:
    """A multi-sentence message is dated by its first fragment that carries a usable time."""
    error = None
    for frag in frags:
        if frag.ts_us is not None:
            return frag.ts_us, None
        if error is None:
            error = frag.ts_error
    return None, error


def _field_problem(fields: list[bytes]) -> str:
    _, count, num, seq, _, _, fill = (f.decode("ascii", "replace") for f in fields)
    if _SMALL_INTS.get(fields[1], 0) < 1:
        return f"fragment count {count!r} is not 1..{MAX_FRAGMENTS}"
    if not 1 <= _SMALL_INTS.get(fields[2], 0) <= _SMALL_INTS[fields[1]]:
        return f"fragment number {num!r} is not 1..{count}"
    if not 0 <= _SMALL_INTS.get(fields[6], -1) <= _MAX_FILL_BITS:
        return f"fill bits {fill!r} is not 0..{_MAX_FILL_BITS}"
    return f"sequential message id {seq!r} is not a number"


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

