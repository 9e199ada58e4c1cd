"""The monthly PDF of the seeded October: KPI values in its text, page count, vector charts, a PNG artifact,
and the archive (new version on every generation, sha256 of the stored file)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import zlib
from pathlib import Path

import pytest
from django.core.management import call_command

from reports.models import MonthlyReport
from reports.periods import Month
from tests.reports.seed import seed_october

ARTIFACTS = Path(__file__).parent / "artifacts"
EXPECTED_PAGES = 9


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def generated(db, media, capsys):
    seed_october()
    call_command("monthly_report", "--month", "2026-10")
    return MonthlyReport.objects.get(), capsys.readouterr().out


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_monthly_pdf_content_layout_and_archive(generated, media):
    report, output = generated
    assert "chart 8/8: roi" in output and "report 2026-10 v1" in output
    path = Path(report.file.path)
    pdf = path.read_bytes()
    assert report.sha256 == hashlib.sha256(pdf).hexdigest()
    assert report.page_count == EXPECTED_PAGES

    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert re.search(rf"^Pages:\s+{EXPECTED_PAGES}$", info, re.MULTILINE)

    text = " ".join(_text(path).split())  # layout wraps lines; compare on single spaces
    for expected in (
        "October 2026",
        "Executive summary",
        "2 models shipped, drift incidents down 1 to 2, SLA adherence 50.0 %, revenue uplift $150,000.",
        "$0.75",  # cost per 1,000 requests
        "$0.50",  # per 1,000 predictions
        "71.4 %",  # bias & safety pass rate
        "4.0 d",  # approval cycle median
        "10.0 d",  # p90
        "$150,000",
        "cost data for 2 of 4 models",
        "fraud-detector",
        "Page 2 of 9",
        "Appendix: definitions and data coverage",
    ):
        assert expected in text, expected

    # Charts are vector: no raster image is embedded, and content streams draw paths.
    images = subprocess.run(
        ["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True
    ).stdout
    assert len(images.strip().splitlines()) == 2  # the header lines only
    streams = [
        zlib.decompress(m)
        for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL)
        if m[:1] == b"x"
    ]
    assert sum(s.count(b" re\n") + s.count(b" l\n") + s.count(b" c\n") for s in streams) > 500

    ARTIFACTS.mkdir(exist_ok=True)
    for page in (1, 2, 3):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(path),
                str(ARTIFACTS / f"monthly-2026-10-page{page}"),
            ],
            check=True,
        )
    assert (ARTIFACTS / "monthly-2026-10-page1.png").stat().st_size > 1000


def test_regenerating_adds_a_version(generated):
    first, _ = generated
    call_command("monthly_report", "--month", "2026-10")
    versions = list(
        MonthlyReport.objects.filter(period=Month(2026, 10).first_day).values_list("version", "file")
    )
    assert sorted(v for v, _ in versions) == [1, 2]
    assert len({f for _, f in versions}) == 2
    assert Path(first.file.path).exists()
