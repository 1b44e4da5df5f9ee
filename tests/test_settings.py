"""Settings come from the environment, checked once, named in every error."""

import pytest

from spucsvi.settings import DEFAULT_SPUC_URL, SettingsError, from_env


def test_defaults():
    settings = from_env({})
    assert settings.spuc_url == DEFAULT_SPUC_URL == "http://spuc:8321"
    assert (settings.connect_timeout, settings.read_timeout) == (2.0, 5.0)
    assert len(settings.secret_key) == 64


def test_spuc_url_wins_over_deprecated_spuc_host():
    settings = from_env({"SPUC_URL": "http://a:1", "SPUC_HOST": "http://b:2"})
    assert settings.spuc_url == "http://a:1"


def test_spuc_host_is_accepted_with_a_warning(caplog):
    assert from_env({"SPUC_HOST": "http://b:2/"}).spuc_url == "http://b:2"
    assert "SPUC_HOST is deprecated" in caplog.text


def test_secret_key_from_environment_and_random_otherwise():
    assert from_env({"SECRET_KEY": "s3cret"}).secret_key == "s3cret"
    assert from_env({}).secret_key != from_env({}).secret_key


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
