"""Back-of-the-envelope helpers: the numbers, and the arithmetic they show."""

import pytest

from sdcore.scale.estimates import (
    bandwidth_from_qps,
    format_bytes,
    qps_from_dau,
    servers_for,
    storage_per_year,
)


def test_qps_from_dau_shows_its_arithmetic():
    e = qps_from_dau(10_000_000, 10, peak_factor=2)
    assert e.requests_per_day == 100_000_000
    assert e.average_qps == pytest.approx(100_000_000 / 86_400)
    assert e.peak_qps == pytest.approx(2 * e.average_qps)
    assert e.arithmetic == (
        "10,000,000 DAU × 10 requests per user per day = 100,000,000 requests per day",
        "100,000,000 requests ÷ 86,400 s per day = 1,157 requests/s on average",
        "1,157 requests/s × peak factor 2 = 2,315 requests/s at peak",
    )


def test_storage_per_year_uses_365_25_days():
    e = storage_per_year(1_000_000, 2, 1_000, replicas=3, years=5)
    assert e.bytes_per_day == 2e9
    assert e.bytes_per_year == pytest.approx(2e9 * 365.25)
    assert e.total_bytes == pytest.approx(2e9 * 365.25 * 3 * 5)
    assert e.arithmetic[1] == "2 GB × 365.25 days = 730 GB per year"
    assert e.arithmetic[2] == "730 GB × 3 replicas × 5 years = 11 TB stored"
    assert (
        storage_per_year(1, 1, 1, replicas=1, years=1)
        .arithmetic[2]
        .endswith("× 1 replica × 1 year = 365 B stored")
    )


def test_servers_and_bandwidth():
    s = servers_for(2315, 400, 0.6)
    assert s.servers == 10 and "→ 10 servers" in s.arithmetic[0]
    assert servers_for(240, 400, 0.6).servers == 1
    assert servers_for(0, 400).servers == 1
    b = bandwidth_from_qps(1000, 20_000)
    assert b.bytes_per_second == 2e7 and "160 Mbit/s" in b.arithmetic[0]


@pytest.mark.parametrize("n,text", [(999, "999 B"), (1_500, "1.5 KB"), (2.5e12, "2.5 TB"), (730e9, "730 GB")])
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="peak_factor must be between 1 and 100"):
        qps_from_dau(10, 1, 0.5)
    with pytest.raises(ValueError, match="replicas must be between 1 and 100"):
        storage_per_year(10, 1, 1, replicas=0)
    with pytest.raises(ValueError, match="target_utilization must be more than 0"):
        servers_for(10, 1, 0)
