"""The one data model: conventions hold for every table, and every derived schema agrees."""

from __future__ import annotations

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from sanctionwatch.schema import (
    IDENTITIES,
    POSITIONS,
    QUARANTINE,
    TABLES,
    conform,
    empty_table,
    schema_doc_json,
)

UNIT_SUFFIX = {"degree": "_deg", "knot": "_knots", "metre": "_m", "byte": "_bytes", "minute": "_min"}
INPUT_DERIVED = ("positions", "identities", "quarantine", "detections", "sightings", "scenes", "site_counts")


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_units_are_in_names(table):
    for f in table:
        if f.unit:
            assert f.name.endswith(UNIT_SUFFIX[f.unit]), f"{table.name}.{f.name} has unit {f.unit}"
        assert f.doc, f"{table.name}.{f.name} is undocumented"


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_timestamps_are_utc_and_named_so(table):
    for f in table:
        if pa.types.is_timestamp(f.type):
            assert f.type.tz == "UTC" and f.type.unit == "us", f.name
            assert f.name.endswith("_utc"), f.name
        else:
            assert not f.name.endswith("_utc"), f.name


@pytest.mark.parametrize("name", INPUT_DERIVED)
def test_input_rows_carry_provenance(name):
    names = TABLES[name].names
    assert "source_id" in names and "record_no" in names
    assert not TABLES[name]["source_id"].nullable and not TABLES[name]["record_no"].nullable


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_duckdb_ddl_round_trips_the_arrow_schema(table):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # as the store does; otherwise DuckDB uses the host's zone name
    con.execute(table.duckdb_ddl())
    got = con.sql(f'SELECT * FROM "{table.name}"').to_arrow_table().schema
    want = table.arrow()
    assert got.names == want.names
    for g, w in zip(got, want, strict=True):
        # DuckDB reports list<item> children as "element"/"l"; compare the logical types.
        assert str(g.type).replace("element", "item").replace("<l:", "<item:") == str(w.type).replace(
            "element", "item"), g.name


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_polars_schema_matches_arrow(table):
    pol = table.polars()
    assert list(pol) == table.names
    frame = pl.DataFrame(schema=pol)  # type: ignore[arg-type]
    assert frame.to_arrow().schema.names == table.names


def test_spark_ddl_names_every_column():
    ddl = POSITIONS.spark_ddl()
    assert ddl.startswith("`mmsi` INT, `ts_utc` TIMESTAMP, `lat_deg` DOUBLE")
    for name in POSITIONS.names:
        assert f"`{name}`" in ddl


def test_conform_fills_optional_and_rejects_missing_required():
    data = pa.table({"mmsi": pa.array([273210440], pa.int64()), "source_id": ["x"], "record_no": [3],
                     "reason": ["bad_checksum"]})
    out = conform(data.drop(["mmsi"]), QUARANTINE)
    assert out.schema == QUARANTINE.arrow() and out.column("raw").null_count == 1
    with pytest.raises(ValueError, match="required column 'ts_utc'"):
        conform(pa.table({"mmsi": [1]}), POSITIONS)


def test_identity_key_and_doc_export():
    assert set(IDENTITIES.key) <= set(IDENTITIES.names)
    assert empty_table(IDENTITIES).num_rows == 0
    assert '"positions"' in schema_doc_json()
