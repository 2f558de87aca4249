"""BotSettings.from_env: defaults, lists of ids, and one clear error per malformed value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import BotSettings, SettingsError
from index.settings import PROJECT as REPO
from index.settings import IndexSettings, variable_of

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.secret-part_of-the-token"


def settings(**env: str) -> BotSettings:
    return BotSettings.from_env({"DISCORD_TOKEN": TOKEN, **env})


def test_defaults_with_only_a_token() -> None:
    got = settings()
    assert got.guild_ids == ()
    assert got.ask_cooldown_seconds == 3.0
    assert got.api_base_url is None
    assert got.gateway_url is None


def test_token_is_required_and_has_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(ValidationError):
        BotSettings()  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN: not set; put the bot token"):
        BotSettings.from_env({})


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_empty_token(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN: empty"):
        BotSettings.from_env({"DISCORD_TOKEN": value})


@pytest.mark.parametrize("value", [f"Bot {TOKEN}", f"{TOKEN[:10]} {TOKEN[10:]}", f"{TOKEN}é"])
def test_malformed_token_is_named_but_never_echoed(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN: ") as caught:
        BotSettings.from_env({"DISCORD_TOKEN": value})
    assert TOKEN[:10] not in str(caught.value)
    assert "secret" not in str(caught.value)


def test_token_is_stripped_and_kept_out_of_repr() -> None:
    got = BotSettings.from_env({"DISCORD_TOKEN": f"  {TOKEN}\n"})
    assert got.token.get_secret_value() == TOKEN
    for shown in (repr(got), str(got), got.model_dump_json(), str(got.model_dump())):
        assert "secret-part" not in shown  # the token's own words (a field may be named …_secret)


def test_id_lists_accept_commas_and_spaces() -> None:
    got = settings(
        DISCORD_GUILD_IDS="111111111111111111, 222222222222222222 111111111111111111",
        ADMIN_USER_IDS="333333333333333333",
        ADMIN_ROLE_IDS=" 444444444444444444 ,555555555555555555 ",
        ANSWER_CHANNEL_IDS="666666666666666666,",
    )
    assert got.guild_ids == (111111111111111111, 222222222222222222)  # order kept, duplicates dropped
    assert got.admin_user_ids == {333333333333333333}
    assert got.admin_role_ids == {444444444444444444, 555555555555555555}
    assert got.answer_channel_ids == {666666666666666666}


@pytest.mark.parametrize(
    "name", ["DISCORD_GUILD_IDS", "ADMIN_USER_IDS", "ADMIN_ROLE_IDS", "ANSWER_CHANNEL_IDS"]
)
@pytest.mark.parametrize("value", ["abc", "12345x", "-5", "0", "1.5", "١٢٣", str(2**64)])
def test_non_numeric_ids_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: .* is not a Discord id"):
        settings(**{name: value})


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("2.5", 2.5), ("10", 10.0), ("", 3.0)])
def test_cooldown(value: str, expected: float) -> None:
    assert settings(ASK_COOLDOWN_SECONDS=value).ask_cooldown_seconds == expected


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("90", 90.0), ("", 30.0)])
def test_reindex_cooldown(value: str, expected: float) -> None:
    assert settings(REINDEX_COOLDOWN_SECONDS=value).reindex_cooldown_seconds == expected


@pytest.mark.parametrize("name", ["ASK_COOLDOWN_SECONDS", "REINDEX_COOLDOWN_SECONDS"])
@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", "1e9"])
def test_bad_cooldown_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: "):
        settings(**{name: value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v10"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v10"),
        ("http://localhost:8080/api/v10", "http://localhost:8080/api/v10"),
        ("https://proxy.example/discord/api/v10/", "https://proxy.example/discord/api/v10"),
        ("https://proxy.example/discord", "https://proxy.example/discord/api/v10"),
    ],
)
def test_api_base_url_ends_in_api_v10(value: str, expected: str) -> None:
    assert settings(DISCORD_API_BASE_URL=value).api_base_url == expected


@pytest.mark.parametrize(
    "value",
    [
        "localhost:8080",
        "ftp://example.com",
        "http://",
        "http://example.com:notaport",
        "http://example.com/api/v9",
        "http://example.com/?q=1",
        "http://user:pw@example.com",
        "ws://example.com",
    ],
)
def test_bad_api_base_url_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^DISCORD_API_BASE_URL: "):
        settings(DISCORD_API_BASE_URL=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ws://127.0.0.1:8081", "ws://127.0.0.1:8081/"),
        ("wss://gateway.example/", "wss://gateway.example/"),
        ("ws://127.0.0.1:8081/gateway", "ws://127.0.0.1:8081/gateway"),
    ],
)
def test_gateway_url(value: str, expected: str) -> None:
    assert settings(DISCORD_GATEWAY_URL=value).gateway_url == expected


@pytest.mark.parametrize(
    "value", ["http://127.0.0.1:8081", "127.0.0.1:8081", "ws://", "ws://h:99999", "ws://h/?v=9"]
)
def test_bad_gateway_url_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^DISCORD_GATEWAY_URL: "):
        settings(DISCORD_GATEWAY_URL=value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCORD_API_BASE_URL", "http://proxy.example/discord"),
        ("DISCORD_API_BASE_URL", "http://10.0.0.5:8080"),
        ("DISCORD_GATEWAY_URL", "ws://gateway.example/"),
        ("DISCORD_GATEWAY_URL", "ws://192.168.1.10:8081"),
    ],
)
def test_plain_http_or_ws_to_another_machine_is_refused_it_would_send_the_token_in_clear(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: .* would send the bot token unencrypted"):
        settings(**{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [("DISCORD_API_BASE_URL", "http://[::1]:8080"), ("DISCORD_GATEWAY_URL", "ws://127.0.0.2:8081")],
)
def test_plain_http_or_ws_to_this_machine_is_allowed(name: str, value: str) -> None:
    settings(**{name: value})


def test_blank_optional_values_mean_default() -> None:
    names = (
        "DISCORD_GUILD_IDS",
        "ADMIN_USER_IDS",
        "ADMIN_ROLE_IDS",
        "ANSWER_CHANNEL_IDS",
        "ASK_COOLDOWN_SECONDS",
        "DISCORD_API_BASE_URL",
        "DISCORD_GATEWAY_URL",
    )
    blank = dict.fromkeys(names, "  ")
    assert settings(**blank) == BotSettings.from_env({"DISCORD_TOKEN": TOKEN})


def test_blank_optional_variables_in_the_environment_mean_default_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ADMIN_USER_IDS", "ASK_COOLDOWN_SECONDS", "DISCORD_API_BASE_URL", "EMBEDDING_BACKEND"):
        monkeypatch.setenv(name, "  ")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert BotSettings() == BotSettings.from_env({"DISCORD_TOKEN": TOKEN})


def test_settings_are_frozen() -> None:
    got = settings()
    with pytest.raises(ValidationError, match="frozen"):
        got.ask_cooldown_seconds = 0  # type: ignore[misc]


def test_the_environment_and_a_mapping_are_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "DISCORD_TOKEN": f" {TOKEN} ",
        "DISCORD_GUILD_IDS": "111111111111111111, 222222222222222222",
        "ASK_COOLDOWN_SECONDS": "2.5",
        "DISCORD_API_BASE_URL": "http://127.0.0.1:8080",
        "EMBEDDING_BACKEND": "ONNX-int8",
        "LOG_LEVEL": "debug",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert BotSettings() == BotSettings.from_env(env) == BotSettings.from_env()


def test_a_mapping_is_read_alone_never_mixed_with_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USER_IDS", "333333333333333333")
    monkeypatch.setenv("DISCORD_TOKEN", "another-token")
    assert settings().admin_user_ids == frozenset()
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN: not set"):
        BotSettings.from_env({})


def test_every_setting_is_one_of_the_documented_variables() -> None:
    documented = (REPO / ".env.example").read_text()
    for field in BotSettings.model_fields.values():
        assert f"{variable_of(field)}=" in documented


def test_settings_are_given_by_name_never_by_position() -> None:
    # BaseSettings' first positional parameters are its own options (_case_sensitive…)
    with pytest.raises(TypeError):
        IndexSettings(REPO / "data" / "articles", REPO / "var" / "index")  # type: ignore[misc]
