"""Settings come from the environment, checked once, named in every error."""

import re
from pathlib import Path

import pytest

from spucsvi.settings import (
    DEFAULT_SPUC_URL,
    NAMES,
    SettingsError,
    from_env,
    markdown_table,
    server_from_env,
)

ROOT = Path(__file__).resolve().parents[1]


def test_defaults():
    settings = from_env({})
    assert settings.spuc_url == DEFAULT_SPUC_URL == "http://spuc:8321"
    assert (settings.connect_timeout, settings.read_timeout) == (2.0, 5.0)
    assert settings.freshness_seconds == 1.0
    assert settings.trusted_origins == frozenset()
    assert not hasattr(settings, "secret_key")


def test_spuc_url_wins_over_deprecated_spuc_host():
    settings = from_env({"SPUC_URL": "http://a:1", "SPUC_HOST": "http://b:2"})
    assert settings.spuc_url == "http://a:1"


def test_spuc_host_is_accepted_with_a_warning(caplog):
    assert from_env({"SPUC_HOST": "http://b:2/"}).spuc_url == "http://b:2"
    assert "SPUC_HOST is deprecated" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", set()),
        ("https://spucsvi.example.org", {"https://spucsvi.example.org"}),
        (
            "https://A.example.org:8443, http://b.example.org/",
            {"https://a.example.org:8443", "http://b.example.org"},
        ),
        (
            " https://a.example.org  http://[::1]:8000,,http://10.0.0.5 ",
            {"https://a.example.org", "http://[::1]:8000", "http://10.0.0.5"},
        ),
    ],
)
def test_trusted_origins_are_read_as_origins(value, expected):
    assert from_env({"SPUCSVI_TRUSTED_ORIGINS": value}).trusted_origins == frozenset(expected)


@pytest.mark.parametrize(
    "entry",
    [
        "spucsvi.example.org",
        "ftp://spucsvi.example.org",
        "https://",
        "https://spucsvi.example.org/app",
        "https://spucsvi.example.org?x=1",
        "https://spucsvi.example.org#top",
        "https://user@spucsvi.example.org",
        "https://spucsvi.example.org:port",
        "*",
    ],
)
def test_a_bad_trusted_origin_fails_naming_the_variable_and_the_entry(entry):
    with pytest.raises(SettingsError) as error:
        from_env({"SPUCSVI_TRUSTED_ORIGINS": f"https://good.example.org, {entry}"})
    message = str(error.value)
    assert message == (
        f"SPUCSVI_TRUSTED_ORIGINS: {entry!r} is not an origin like https://example.org"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SPUC_URL": "notaurl"}, "SPUC_URL"),
        ({"SPUC_URL": "ftp://spuc:8321"}, "SPUC_URL"),
        ({"SPUC_URL": "http://spuc:port"}, "SPUC_URL"),
        ({"SPUC_URL": "http://spuc:8321/?x=1"}, "SPUC_URL"),
        ({"SPUC_HOST": "spuc"}, "SPUC_HOST"),
        ({"SPUC_CONNECT_TIMEOUT": "soon"}, "SPUC_CONNECT_TIMEOUT"),
        ({"SPUC_READ_TIMEOUT": "0"}, "SPUC_READ_TIMEOUT"),
        ({"SPUC_READ_TIMEOUT": "9999"}, "SPUC_READ_TIMEOUT"),
        ({"SPUCSVI_FRESHNESS": "-1"}, "SPUCSVI_FRESHNESS"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(env, named):
    with pytest.raises(SettingsError) as error:
        from_env(env)
    message = str(error.value)
    assert message.startswith(f"{named}=")
    assert "\n" not in message


def test_timeouts_and_freshness_are_read():
    settings = from_env(
        {"SPUC_CONNECT_TIMEOUT": "0.5", "SPUC_READ_TIMEOUT": "3", "SPUCSVI_FRESHNESS": "0"}
    )
    assert (settings.connect_timeout, settings.read_timeout) == (0.5, 3.0)
    assert settings.freshness_seconds == 0


def test_lock_file_is_per_backend(tmp_path):
    a, b = from_env({"SPUC_URL": "http://a:1"}), from_env({"SPUC_URL": "http://b:1"})
    assert a.lock_path != b.lock_path
    assert from_env({"SPUCSVI_SUBMIT_LOCK": str(tmp_path / "x")}).lock_path == tmp_path / "x"


def test_spuc_timezone_is_utc_unless_set_to_an_iana_name():
    from datetime import UTC
    from zoneinfo import ZoneInfo

    assert from_env({}).spuc_timezone is UTC
    assert from_env({"SPUC_TIMEZONE": "UTC"}).spuc_timezone is UTC
    assert from_env({"SPUC_TIMEZONE": "Europe/Berlin"}).spuc_timezone == ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "../../etc/passwd", "CEST+1"])
def test_a_bad_spuc_timezone_is_refused_in_one_line_naming_it(value):
    with pytest.raises(SettingsError) as error:
        from_env({"SPUC_TIMEZONE": value})
    message = str(error.value)
    assert message.startswith(f"SPUC_TIMEZONE={value!r} is not an IANA time zone name")
    assert "\n" not in message


def test_server_settings_default_to_what_gunicorn_conf_promises():
    server = server_from_env({})
    assert (server.bind, server.workers, server.threads) == ("0.0.0.0:8322", 2, 4)
    assert server.forwarder_headers == ""
    server = server_from_env({"WEB_CONCURRENCY": "3", "SPUCSVI_THREADS": " 8 "})
    assert (server.workers, server.threads) == (3, 8)


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "two"), ("SPUCSVI_THREADS", "0")])
def test_a_bad_server_setting_fails_in_one_line_naming_it(name, value):
    with pytest.raises(SettingsError) as error:
        server_from_env({name: value})
    message = str(error.value)
    assert message.startswith(f"{name}={value!r}")
    assert "\n" not in message


def test_a_blank_variable_means_the_default():
    assert from_env({name: " " for name in NAMES}) == from_env({})
    assert server_from_env({name: "" for name in NAMES}) == server_from_env({})


def test_docs_settings_table_is_the_declared_one():
    """docs/settings.md shows the table made from the declarations, row for row."""
    doc = (ROOT / "docs" / "settings.md").read_text()
    start = doc.index("| variable |")
    end = doc.find("\n\n", start)
    table = doc[start : end + 1] if end != -1 else doc[start:]
    assert table == markdown_table(), (
        "docs/settings.md's table differs from spucsvi/settings.py: replace it with "
        "spucsvi.settings.markdown_table()"
    )


def test_every_variable_the_code_reads_is_declared():
    """A variable read anywhere in spucsvi/ is a row of the table (or the system's own)."""
    pattern = re.compile(r"""os\.(?:environ\.get\(|environ\[|getenv\()\s*["'](\w+)["']""")
    read = {
        (path.name, name)
        for path in (ROOT / "spucsvi").rglob("*.py")
        for name in pattern.findall(path.read_text())
    }
    assert read, "the pattern finds the reads"
    assert {(file, name) for file, name in read if name not in NAMES} == {
        ("settings.py", "XDG_RUNTIME_DIR"),
        ("worker.py", "SCRIPT_NAME"),  # gunicorn's own, read as gunicorn reads it
    }
