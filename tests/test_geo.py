"""itlake.geo: zones, point-to-zone assignment, Chinese coordinate systems and distances.

Expected values are written by hand (or copied from published reference pairs); none is computed
by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from itlake.geo import (
    DISTRICT_CODES,
    assign_zone,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    haversine_m_col,
    length_m,
    load_zones,
    to_wgs84,
    to_wgs84_columns,
    utm_crs_for,
    wgs84_to_bd09,
    wgs84_to_gcj02,
    with_zone,
    zone_names,
)

# Points inside known districts: the centroid_x/centroid_y properties of the GeoJSON features.
FUTIAN = (114.04153456314172, 22.546179790257238)
LUOHU = (114.14315709597267, 22.57760501887363)
NANSHAN = (113.93071445034239, 22.544103140666856)
DAPENG = (114.50220451761903, 22.57133688833955)
SEA = (113.5, 22.2)  # Pearl River estuary, west of Shenzhen

TIANANMEN_WGS = (116.397428, 39.90923)


# ---------------------------------------------------------------- zones


def test_load_zones_has_ten_districts_with_codes():
    zones = load_zones()
    assert list(zones.columns) == ["zone_id", "zone_name", "geometry"]
    assert zones.crs.to_epsg() == 4326
    assert len(zones) == 10
    assert zones["zone_id"].tolist() == [
        "440303", "440304", "440305", "440306", "440307",
        "440308", "440309", "440310", "440311", "440312",
    ]  # fmt: skip
    names = dict(zip(zones["zone_id"], zones["zone_name"], strict=True))
    assert names["440304"] == "福田区"
    assert names["440312"] == "大鹏新区"
    assert zone_names() == names
    assert DISTRICT_CODES["福田"] == "440304"
    assert zones.geometry.is_valid.all()


def test_load_zones_returns_a_copy():
    first = load_zones()
    first.loc[0, "zone_id"] = "changed"
    assert load_zones().loc[0, "zone_id"] == "440303"


def test_assign_zone_known_points():
    pts = [FUTIAN, LUOHU, NANSHAN, DAPENG, SEA, (np.nan, 22.5)]
    lon = np.array([p[0] for p in pts])
    lat = np.array([p[1] for p in pts])
    got = assign_zone(lon, lat)
    assert got.dtype == object
    assert got.tolist() == ["440304", "440303", "440305", "440312", None, None]


def test_assign_zone_empty_and_custom_zones():
    assert assign_zone(np.array([]), np.array([])).tolist() == []
    zones = load_zones()
    only_futian = zones[zones["zone_id"] == "440304"]
    got = assign_zone([FUTIAN[0], LUOHU[0]], [FUTIAN[1], LUOHU[1]], zones=only_futian)
    assert got.tolist() == ["440304", None]
    with pytest.raises(ValueError, match="differ in length"):
        assign_zone([1.0, 2.0], [1.0])


def test_assign_zone_matches_geopandas_sjoin():
    import geopandas as gpd

    zones = load_zones()
    minx, miny, maxx, maxy = zones.total_bounds
    rng = np.random.default_rng(42)
    lon = rng.uniform(minx, maxx, 10_000)
    lat = rng.uniform(miny, maxy, 10_000)

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(points, zones[["zone_id", "geometry"]], how="left", predicate="within")
    assert not joined.index.duplicated().any()  # the districts do not overlap
    expected = joined["zone_id"].sort_index().to_numpy()

    got = assign_zone(lon, lat)
    expected_ids = [None if isinstance(v, float) else v for v in expected]
    assert got.tolist() == expected_ids
    # Sanity: a fair share of the bounding box is land in some district, and some is not.
    inside = sum(v is not None for v in got)
    assert 3_000 < inside < 7_000


# ---------------------------------------------------------------- coordinate systems


def test_wgs84_to_gcj02_tiananmen():
    lon, lat = wgs84_to_gcj02(*TIANANMEN_WGS)
    # Reference pair (116.403672, 39.910625) within 1e-5 degree; our value 116.4036716, 39.9106335.
    assert lon == pytest.approx(116.403672, abs=1e-5)
    assert lat == pytest.approx(39.910625, abs=1e-5)
    assert lon == pytest.approx(116.4036716, abs=1e-7)
    assert lat == pytest.approx(39.9106335, abs=1e-7)


def test_wgs84_to_gcj02_published_pair():
    # From the coordTransform README (wandergis/coordTransform_py): 128.543, 37.065 in WGS-84.
    lon, lat = wgs84_to_gcj02(128.543, 37.065)
    assert lon == pytest.approx(128.54820547949757, abs=1e-9)
    assert lat == pytest.approx(37.065651049489816, abs=1e-9)


def test_gcj02_to_bd09_tiananmen():
    lon, lat = gcj02_to_bd09(116.4036716, 39.9106335)
    # BD-09 of the Tiananmen GCJ-02 point by the published formula (x_pi = pi * 3000 / 180).
    assert lon == pytest.approx(116.4100441, abs=1e-6)
    assert lat == pytest.approx(39.9169729, abs=1e-6)
    back = bd09_to_gcj02(lon, lat)
    assert back[0] == pytest.approx(116.4036716, abs=1e-8)
    assert back[1] == pytest.approx(39.9106335, abs=1e-8)


def test_wgs84_to_bd09_is_gcj_then_bd():
    lon, lat = wgs84_to_bd09(*TIANANMEN_WGS)
    assert lon == pytest.approx(116.4100441, abs=1e-6)
    assert lat == pytest.approx(39.9169729, abs=1e-6)


def _random_china(n: int, seed: int):
    rng = np.random.default_rng(seed)
    # Inside the box with margin, so shifted points stay inside it too.
    return rng.uniform(75.0, 135.0, n), rng.uniform(18.0, 53.0, n)


def test_gcj02_round_trip_under_one_metre():
    lon, lat = _random_china(1_000, 1)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    # The offset is hundreds of metres, so the test can fail if the inverse did nothing.
    assert haversine_m(lon, lat, g_lon, g_lat).min() > 10.0
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert haversine_m(lon, lat, w_lon, w_lat).max() < 1.0
    # In fact the iteration is good to well under a centimetre.
    assert haversine_m(lon, lat, w_lon, w_lat).max() < 0.01


def test_bd09_round_trip_under_one_metre():
    lon, lat = _random_china(1_000, 2)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    w_lon, w_lat = bd09_to_wgs84(b_lon, b_lat)
    assert haversine_m(lon, lat, w_lon, w_lat).max() < 1.0
    w2_lon, w2_lat = to_wgs84(b_lon, b_lat, "BD-09")
    np.testing.assert_array_equal(w_lon, w2_lon)
    np.testing.assert_array_equal(w_lat, w2_lat)


def test_outside_china_passes_through():
    paris = (2.35, 48.85)
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        assert fn(*paris) == paris
    lon, lat = wgs84_to_gcj02(np.array([2.35, 116.397428]), np.array([48.85, 39.90923]))
    assert lon[0] == 2.35 and lat[0] == 48.85
    assert lon[1] != 116.397428


def test_nan_stays_nan():
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 114.0]), np.array([22.5, 22.5]))
    assert np.isnan(lon[0]) and lat[0] == 22.5
    assert np.isfinite(lon[1])


def test_to_wgs84_dispatch():
    assert to_wgs84(114.0, 22.5, "WGS-84") == (114.0, 22.5)
    g = wgs84_to_gcj02(114.0, 22.5)
    lon, lat = to_wgs84(*g, "GCJ-02")
    assert lon == pytest.approx(114.0, abs=1e-8) and lat == pytest.approx(22.5, abs=1e-8)
    with pytest.raises(ValueError, match="unknown coordinate system 'ETRS89'"):
        to_wgs84(114.0, 22.5, "ETRS89")


# ---------------------------------------------------------------- distances


def test_haversine_one_degree_of_longitude_at_equator():
    # 2 * pi * 6371008.8 / 360 = 111,195.08 m
    assert float(haversine_m(0.0, 0.0, 1.0, 0.0)) == pytest.approx(111_195.08, abs=1.0)
    assert float(haversine_m(114.0, 22.5, 114.0, 22.5)) == 0.0


def test_utm_crs_for():
    # UTM zone 49 is 108-114 E, zone 50 is 114-120 E: Shenzhen straddles 114 E.
    assert utm_crs_for(*NANSHAN) == "EPSG:32649"
    assert utm_crs_for(*FUTIAN) == "EPSG:32650"
    assert utm_crs_for(-0.1276, 51.5072) == "EPSG:32630"  # London
    assert utm_crs_for(151.2, -33.87) == "EPSG:32756"  # Sydney
    assert utm_crs_for(180.0, 10.0) == "EPSG:32601"


def test_length_m_of_a_short_east_west_line():
    import geopandas as gpd
    from shapely import LineString

    lines = gpd.GeoSeries(
        [
            LineString([(113.90, 22.5), (113.91, 22.5)]),  # zone 49, central meridian 111 E
            LineString([(114.00, 22.5), (114.01, 22.5)]),  # zone 50, central meridian 117 E
            None,
        ],
        crs="EPSG:4326",
    )
    got = length_m(lines)
    # On the ellipsoid 0.01 deg of longitude at 22.5 N is 1028.96 m (N cos(lat) * 0.01 * pi / 180);
    # UTM's scale factor ~3 deg from the central meridian makes it about 0.08 % longer.
    assert got[0] == pytest.approx(1029.72, abs=0.05)
    assert got[1] == pytest.approx(1029.76, abs=0.05)
    assert got[:2] == pytest.approx([1028.96, 1028.96], rel=1e-3)
    assert np.isnan(got[2])


# ---------------------------------------------------------------- Spark


def test_haversine_column_equals_numpy(spark):
    rows = [
        (0.0, 0.0, 1.0, 0.0),
        (114.04153456314172, 22.546179790257238, 114.14315709597267, 22.57760501887363),
        (2.35, 48.85, 116.397428, 39.90923),
        (10.0, 10.0, 10.0, 10.0),
    ]
    df = spark.createDataFrame(rows, "lon1 double, lat1 double, lon2 double, lat2 double")
    got = [r.d for r in df.select(haversine_m_col("lon1", "lat1", "lon2", "lat2").alias("d")).collect()]
    a = np.array(rows)
    expected = haversine_m(a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-6)
    assert got[0] == pytest.approx(111_195.08, abs=1.0)


def test_with_zone_on_spark(spark):
    rows = [
        ("a", *FUTIAN),
        ("b", *LUOHU),
        ("c", *SEA),
        ("d", None, None),
    ]
    df = spark.createDataFrame(rows, "trip_id string, pickup_lon double, pickup_lat double")
    out = df.transform(with_zone("pickup_lon", "pickup_lat", "pickup_zone_id"))
    assert out.columns == ["trip_id", "pickup_lon", "pickup_lat", "pickup_zone_id"]
    assert dict(out.select("trip_id", "pickup_zone_id").collect()) == {
        "a": "440304",
        "b": "440303",
        "c": None,
        "d": None,
    }


def test_to_wgs84_columns_on_spark(spark):
    rows = [
        ("tiananmen", 116.4036716, 39.9106335),
        ("paris", 2.35, 48.85),
        ("missing", None, None),
    ]
    df = spark.createDataFrame(rows, "name string, lon double, lat double")
    assert df.transform(to_wgs84_columns("lon", "lat", "WGS-84")) is df
    out = df.transform(to_wgs84_columns("lon", "lat", "GCJ-02"))
    assert out.columns == ["name", "lon", "lat"]
    got = {r.name: (r.lon, r.lat) for r in out.collect()}
    assert got["tiananmen"][0] == pytest.approx(116.397428, abs=1e-6)
    assert got["tiananmen"][1] == pytest.approx(39.90923, abs=1e-6)
    assert got["paris"] == (2.35, 48.85)
    assert got["missing"] == (None, None)


def test_to_wgs84_mixed_converts_each_point_in_its_own_system():
    from itlake.geo.crs import to_wgs84_mixed

    # Tiananmen given in GCJ-02, BD-09 and WGS-84, then a point with no system.
    lon, lat = to_wgs84_mixed(
        [116.4036716, 116.4100441, 114.05, 114.05],
        [39.9106335, 39.9169729, 22.54, 22.54],
        ["GCJ-02", "BD-09", "WGS-84", None],
    )
    assert lon[:2] == pytest.approx([116.397428, 116.397428], abs=1e-6)
    assert lat[:2] == pytest.approx([39.90923, 39.90923], abs=1e-6)
    assert (lon[2], lat[2]) == (114.05, 22.54)
    assert np.isnan(lon[3]) and np.isnan(lat[3])
    with pytest.raises(ValueError, match="unknown coordinate system 'CGCS2000'"):
        to_wgs84_mixed([114.0], [22.5], ["CGCS2000"])
