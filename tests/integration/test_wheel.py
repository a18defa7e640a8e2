"""The project installed as a wheel, as the Docker image installs it: no source
tree, and still every template the notifier ships."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / "var" / "tools" / "bin" / "uv"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(out), "--quiet"],
        cwd=ROOT,
        check=True,
    )
    [built] = out.glob("overdue-*.whl")
    return built


def test_the_wheel_carries_every_shipped_template(wheel):
    shipped = {
        str(path.relative_to(ROOT / "templates"))
        for path in (ROOT / "templates").rglob("*")
        if path.is_file()
    }
    prefix = "services/notifier/shipped_templates/"
    with zipfile.ZipFile(wheel) as archive:
        carried = {
            n.removeprefix(prefix) for n in archive.namelist() if n.startswith(prefix)
        }

    assert shipped and carried == shipped


def test_a_letter_renders_from_the_installed_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    letter = tmp_path / "final.pdf"

    preview = ["preview", "--sample", "-t", "final", "-c", "letter", "-o", str(letter)]
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *preview],
        cwd=tmp_path,  # away from the source tree
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert letter.read_bytes().startswith(b"%PDF")
