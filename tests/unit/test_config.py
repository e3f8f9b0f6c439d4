"""reconciler.yaml and the environment -> Config: defaults, validation, groups and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import (
    Config,
    Defaults,
    EwsSettings,
    GraphSettings,
    Policy,
    SandboxSettings,
    load_config,
)
from reconciler.errors import ConfigError, InputError
from reconciler.limits import SendLimits


def write(directory: Path, text: str, name: str = "reconciler.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(directory: Path, path: Path | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_config(path, env={}, cwd=directory)
    return [str(d) for d in caught.value.diagnostics]


def test_without_a_file_every_default_applies_in_the_working_directory(tmp_path: Path) -> None:
    config = load_config(None, env={"A": "b"}, cwd=tmp_path)
    assert config == Config(root=tmp_path, source=None, meetings_dir=tmp_path / "meetings", env={"A": "b"})
    assert config.namespace == "default"
    assert config.backend == "sandbox"
    assert config.defaults == Defaults()
    assert config.policy == Policy(prune=True, max_cancellations=10, allowed_domains=(), max_attendees=500)
    assert config.sandbox.path == ".meetings/sandbox.db"


def test_the_file_in_the_working_directory_is_found_without_being_named(tmp_path: Path) -> None:
    write(tmp_path, "namespace: team-a\n")
    config = load_config(None, env={}, cwd=tmp_path)
    assert config.namespace == "team-a"
    assert config.source == tmp_path / "reconciler.yaml"


def test_a_named_file_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'^The configuration file "conf/missing.yaml" does not exist\.$'):
        load_config(Path("conf/missing.yaml"), env={}, cwd=tmp_path)


def test_a_named_directory_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ConfigError, match=r'^The configuration file "conf" is not a file\.$'):
        load_config(Path("conf"), env={}, cwd=tmp_path)


def test_every_setting_is_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
namespace: platform
backend: graph
meetings_dir: calendar/meetings
defaults:
  organizer: Lead@Contoso.com
  timezone: Europe/Berlin
  duration_minutes: 45
  reminder_minutes: ~
  online_meeting: true
  body_format: html
groups:
  team: [Alice@Contoso.com]
policy:
  prune: false
  max_cancellations: 3
  allowed_domains: [Contoso.com, fabrikam.com]
  max_attendees: 50
  drift: warn
graph:
  tenant_id: t-1
  client_id: c-1
  auth: certificate
  certificate_path: certs/app.pem
  base_url: http://127.0.0.1:8080/v1.0
ews:
  endpoint: https://mail.contoso.com/EWS/Exchange.asmx
  auth: ntlm
  version: Exchange2013_SP1
  username: svc-meetings
sandbox:
  path: state/sandbox.db
""",
    )
    config = load_config(None, env={}, cwd=tmp_path)
    assert config.namespace == "platform"
    assert config.backend == "graph"
    assert config.meetings_dir == tmp_path / "calendar" / "meetings"
    assert config.defaults == Defaults(
        organizer="lead@contoso.com",
        timezone="Europe/Berlin",
        duration_minutes=45,
        reminder_minutes=None,
        online_meeting=True,
        body_format="html",
    )
    assert dict(config.groups) == {"team": ("alice@contoso.com",)}
    assert config.policy == Policy(
        prune=False,
        max_cancellations=3,
        allowed_domains=("contoso.com", "fabrikam.com"),
        max_attendees=50,
        drift="warn",
    )
    assert config.graph == GraphSettings(
        tenant_id="t-1",
        client_id="c-1",
        auth="certificate",
        certificate_path="certs/app.pem",
        base_url="http://127.0.0.1:8080/v1.0",
    )
    assert config.ews == EwsSettings(
        endpoint="https://mail.contoso.com/EWS/Exchange.asmx",
        auth="ntlm",
        version="Exchange2013_SP1",
        username="svc-meetings",
    )
    assert config.sandbox == SandboxSettings(path="state/sandbox.db")


def test_paths_are_relative_to_the_configuration_file_not_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path / "repo", "meetings_dir: cal\n")
    config = load_config(Path("repo/reconciler.yaml"), env={}, cwd=tmp_path)
    assert config.root == tmp_path / "repo"
    assert config.meetings_dir == tmp_path / "repo" / "cal"


def test_an_empty_file_means_every_default(tmp_path: Path) -> None:
    write(tmp_path, "# nothing configured yet\n")
    config = load_config(None, env={}, cwd=tmp_path)
    assert config == Config(root=tmp_path, source=tmp_path / "reconciler.yaml", meetings_dir=tmp_path / "meetings")


def test_every_problem_of_the_file_is_reported_with_its_position(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
namespace: Team A
backend: graf
defaults:
  organiser: lead@contoso.com
  timezone: Europe/Berln
  duration_minutes: "30"
policy:
  max_cancellations: -1
  drift: ignore
  allowed_domains: ["@contoso.com"]
ews:
  version: "2016"
""",
    )
    assert problems(tmp_path) == [
        'reconciler.yaml:1:12: "namespace" must be lower-case letters, digits, ".", "_" and "-", '
        'starting with a letter or digit, not "Team A"',
        'reconciler.yaml:2:10: "backend" must be one of sandbox, graph or ews, not "graf"; did you mean "graph"?',
        'reconciler.yaml:4:3: unknown key "organiser"; did you mean "organizer"?',
        'reconciler.yaml:5:13: unknown time zone "Europe/Berln"; did you mean "Europe/Berlin"?',
        'reconciler.yaml:6:21: "defaults.duration_minutes" must be an integer, not "30"',
        'reconciler.yaml:8:22: "policy.max_cancellations" must be at least 0, not -1',
        'reconciler.yaml:9:10: "policy.drift" must be one of revert or warn, not "ignore"',
        'reconciler.yaml:10:21: "@contoso.com" is not a domain name like contoso.com',
        'reconciler.yaml:12:12: "ews.version" must be an Exchange version like Exchange2016 or Exchange2010_SP2, '
        'not "2016"',
    ]


def test_an_invalid_default_organizer_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "defaults:\n  organizer: lead@\n")
    assert problems(tmp_path) == ['reconciler.yaml:2:14: "lead@" is not a valid e-mail address']


def test_a_default_time_zone_exchange_cannot_use_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "defaults:\n  timezone: Antarctica/Troll\n")
    assert problems(tmp_path) == [
        'reconciler.yaml:2:13: time zone "Antarctica/Troll" has no Windows equivalent, so Exchange cannot use it'
    ]


def test_a_yaml_syntax_error_is_reported_at_its_position(tmp_path: Path) -> None:
    write(tmp_path, "backend: sandbox\ndefaults\npolicy: {}\n")
    assert problems(tmp_path) == [
        "reconciler.yaml:3:1: invalid YAML: could not find expected ':' (while scanning a simple key)"
    ]


def test_the_file_must_be_a_single_mapping(tmp_path: Path) -> None:
    write(tmp_path, "- backend: sandbox\n")
    assert problems(tmp_path) == [
        "reconciler.yaml:1:1: reconciler.yaml must be a mapping of settings such as backend and defaults"
    ]
    write(tmp_path, "backend: sandbox\n---\nbackend: graph\n")
    assert problems(tmp_path) == ["reconciler.yaml:3:1: reconciler.yaml must hold one YAML document"]


# -- groups ------------------------------------------------------------------------------------------


def test_groups_are_lower_cased_sorted_and_expanded_through_nested_groups(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
groups:
  platform: [Carol@Contoso.com, "@leads", alice@contoso.com]
  leads: [bob@contoso.com, "@directors"]
  directors: [dana@contoso.com, alice@contoso.com]
""",
    )
    groups = load_config(None, env={}, cwd=tmp_path).groups
    assert dict(groups) == {
        "platform": ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dana@contoso.com"),
        "leads": ("alice@contoso.com", "bob@contoso.com", "dana@contoso.com"),
        "directors": ("alice@contoso.com", "dana@contoso.com"),
    }


def test_groups_that_include_each_other_are_reported_once_where_the_cycle_closes(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
groups:
  a: [x@contoso.com, "@b"]
  b: ["@c"]
  c: ["@a"]
  self: ["@self"]
""",
    )
    assert problems(tmp_path) == [
        "reconciler.yaml:4:7: groups include each other in a cycle: @a -> @b -> @c -> @a",
        "reconciler.yaml:5:10: groups include each other in a cycle: @self -> @self",
    ]


def test_group_members_must_be_addresses_or_known_groups(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
groups:
  platform-team: [alice@contoso.com, "@leeds", "bob@", 42]
  leads: [carol@contoso.com]
  "bad name": [dave@contoso.com]
""",
    )
    assert problems(tmp_path) == [
        'reconciler.yaml:2:38: unknown group "@leeds"; did you mean "@leads"?',
        'reconciler.yaml:2:48: "bob@" is not a valid e-mail address',
        'reconciler.yaml:2:56: "groups.platform-team[3]" must be a string, not 42; put it in quotes',
        'reconciler.yaml:4:3: group name "bad name" may contain only letters, digits, ".", "_" and "-"',
    ]


# -- secrets -----------------------------------------------------------------------------------------


OTHERS = (
    "meetings reads secrets only from the environment variables MEETINGS_EWS_CLIENT_SECRET, MEETINGS_EWS_PASSWORD,"
    " MEETINGS_GRAPH_CERTIFICATE_PASSWORD, MEETINGS_GRAPH_CLIENT_SECRET"
)


def test_a_secret_written_in_the_file_is_refused_naming_the_variable_to_use(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
graph:
  tenant_id: t
  client_secret: s3cr3t-value
  certificate_password: hunter2
ews:
  password: hunter3
  client_secret: hunter4
sandbox:
  api-token: abc
extra:
  nested:
    - private_key: "-----BEGIN"
""",
    )
    messages = problems(tmp_path)
    assert messages == [
        'reconciler.yaml:3:3: "graph.client_secret": secrets must not be written in reconciler.yaml; '
        "set the environment variable MEETINGS_GRAPH_CLIENT_SECRET instead",
        'reconciler.yaml:4:3: "graph.certificate_password": secrets must not be written in reconciler.yaml; '
        "set the environment variable MEETINGS_GRAPH_CERTIFICATE_PASSWORD instead",
        'reconciler.yaml:6:3: "ews.password": secrets must not be written in reconciler.yaml; '
        "set the environment variable MEETINGS_EWS_PASSWORD instead",
        'reconciler.yaml:7:3: "ews.client_secret": secrets must not be written in reconciler.yaml; '
        "set the environment variable MEETINGS_EWS_CLIENT_SECRET instead",
        f'reconciler.yaml:9:3: "sandbox.api-token": secrets must not be written in reconciler.yaml; {OTHERS}',
        'reconciler.yaml:10:1: unknown key "extra"',
        'reconciler.yaml:12:7: "extra.nested[0].private_key": secrets must not be written in reconciler.yaml; '
        f"{OTHERS}",
    ]
    assert not any(secret in " ".join(messages) for secret in ("s3cr3t", "hunter", "BEGIN"))
    assert "MEETINGS_SECRET" not in " ".join(messages)  # no such variable is read


def test_a_secret_of_any_type_is_refused_without_echoing_it(tmp_path: Path) -> None:
    write(tmp_path, "graph:\n  client_secret: [1, 2]\n")
    assert problems(tmp_path) == [
        'reconciler.yaml:2:3: "graph.client_secret": secrets must not be written in reconciler.yaml; '
        "set the environment variable MEETINGS_GRAPH_CLIENT_SECRET instead"
    ]


def test_a_group_named_like_a_secret_is_just_a_group(tmp_path: Path) -> None:
    write(tmp_path, "groups:\n  secret-santa: [elf@contoso.com]\n")
    assert load_config(None, env={}, cwd=tmp_path).groups == {"secret-santa": ("elf@contoso.com",)}


def test_secrets_are_read_from_the_environment_snapshot_only(tmp_path: Path) -> None:
    env = {"MEETINGS_GRAPH_CLIENT_SECRET": "from-env", "MEETINGS_EWS_PASSWORD": ""}
    config = load_config(None, env=env, cwd=tmp_path)
    env["MEETINGS_GRAPH_CLIENT_SECRET"] = "changed later"
    assert config.secret("MEETINGS_GRAPH_CLIENT_SECRET") == "from-env"
    assert config.secret("MEETINGS_EWS_PASSWORD") is None
    assert config.secret("MEETINGS_GRAPH_CERTIFICATE_PASSWORD") is None


def test_the_environment_never_appears_in_the_configs_repr(tmp_path: Path) -> None:
    config = load_config(None, env={"MEETINGS_GRAPH_CLIENT_SECRET": "do-not-print"}, cwd=tmp_path)
    assert "do-not-print" not in repr(config)


def test_the_environment_overrides_the_backend_and_the_graph_app_ids(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("backend: sandbox\ngraph:\n  tenant_id: t-file\n  client_id: c-file\n")
    env = {"MEETINGS_BACKEND": "graph", "AZURE_TENANT_ID": "t-env", "AZURE_CLIENT_ID": "c-env"}
    config = load_config(None, env=env, cwd=tmp_path)
    assert (config.backend, config.graph.tenant_id, config.graph.client_id) == ("graph", "t-env", "c-env")
    assert load_config(None, env={}, cwd=tmp_path).graph.client_id == "c-file"


def test_an_unknown_backend_in_the_environment_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"MEETINGS_BACKEND is 'exchange'; choose one of sandbox, graph, ews\."):
        load_config(None, env={"MEETINGS_BACKEND": "exchange"}, cwd=tmp_path)


def test_organizers_to_scan_are_read_lower_cased_and_checked(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("organizers: [Lead@Contoso.com, office@contoso.com]\n")
    assert load_config(None, env={}, cwd=tmp_path).organizers == ("lead@contoso.com", "office@contoso.com")
    (tmp_path / "reconciler.yaml").write_text("organizers: [lead@]\n")
    with pytest.raises(InputError) as raised:
        load_config(None, env={}, cwd=tmp_path)
    assert [str(d) for d in raised.value.diagnostics] == ['reconciler.yaml:1:14: "lead@" is not a valid e-mail address']


# -- attendee time zones -----------------------------------------------------------------------------


def test_attendee_time_zones_are_read_in_order_without_duplicates(tmp_path: Path) -> None:
    assert load_config(None, env={}, cwd=tmp_path).attendee_timezones == ()
    write(tmp_path, "attendee_timezones: [America/New_York, Asia/Kolkata, America/New_York, Europe/London]\n")
    config = load_config(None, env={}, cwd=tmp_path)
    assert config.attendee_timezones == ("America/New_York", "Asia/Kolkata", "Europe/London")


def test_every_unusable_attendee_time_zone_is_reported_at_its_position(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
attendee_timezones:
  - Europe/Berlin
  - America/New_Yrok
  - Antarctica/Troll
  - 5
""",
    )
    assert problems(tmp_path) == [
        'reconciler.yaml:3:5: unknown time zone "America/New_Yrok"; did you mean "America/New_York"?',
        'reconciler.yaml:4:5: time zone "Antarctica/Troll" has no Windows equivalent, so Exchange cannot use it',
        'reconciler.yaml:5:5: "attendee_timezones[3]" must be a string, not 5; put it in quotes',
    ]


def test_the_listed_organizers_are_the_default_organizer_then_organizers_each_once(tmp_path: Path) -> None:
    write(tmp_path, "defaults: {organizer: Lead@Contoso.com}\norganizers: [office@contoso.com, lead@contoso.com]\n")
    assert load_config(None, env={}, cwd=tmp_path).listed_organizers == ("lead@contoso.com", "office@contoso.com")
    write(tmp_path, "organizers: [office@contoso.com]\n")
    assert load_config(None, env={}, cwd=tmp_path).listed_organizers == ("office@contoso.com",)


def test_min_notice_and_previous_namespaces_are_read_and_default_to_off(tmp_path: Path) -> None:
    assert load_config(None, env={}, cwd=tmp_path).policy.min_notice_minutes is None
    write(tmp_path, "namespace: team-b\nprevious_namespaces: [team-a, team-old]\npolicy:\n  min_notice: 2h30m\n")
    config = load_config(None, env={}, cwd=tmp_path)
    assert (config.policy.min_notice_minutes, config.previous_namespaces) == (150, ("team-a", "team-old"))


def test_a_bad_min_notice_and_the_current_namespace_as_a_previous_one_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "namespace: team-b\nprevious_namespaces: [team-a, team-b]\npolicy:\n  min_notice: soon\n")
    found = problems(tmp_path)
    assert any(p.startswith("reconciler.yaml:2:31: ") and "current namespace" in p for p in found), found
    assert any(p.startswith("reconciler.yaml:4:15: ") and "duration like 30m, 2h or 1d" in p for p in found), found


def test_sending_limits_default_to_exchange_onlines(tmp_path: Path) -> None:
    write(tmp_path, "namespace: team\n")
    assert load_config(None, env={}, cwd=tmp_path).limits == SendLimits(
        messages_per_minute=30, recipients_per_day=10_000, recipients_per_message=500, warn_at_percent=80
    )


def test_sending_limits_are_read_from_the_limits_section(tmp_path: Path) -> None:
    write(tmp_path, "limits:\n  messages_per_minute: 60\n  recipients_per_day: 50000\n")
    assert load_config(None, env={}, cwd=tmp_path).limits == SendLimits(
        messages_per_minute=60, recipients_per_day=50_000, recipients_per_message=500, warn_at_percent=80
    )


def test_every_unusable_sending_limit_is_reported_at_its_position(tmp_path: Path) -> None:
    write(
        tmp_path,
        "limits:\n  messages_per_minute: 0\n  recipients_per_day: lots\n  warn_at_percent: 120\n  per_hour: 3\n",
    )
    assert problems(tmp_path) == [
        'reconciler.yaml:2:24: "limits.messages_per_minute" must be at least 1, not 0',
        'reconciler.yaml:3:23: "limits.recipients_per_day" must be an integer, not "lots"',
        'reconciler.yaml:4:20: "limits.warn_at_percent" must be at most 100, not 120',
        'reconciler.yaml:5:3: unknown key "per_hour"',
    ]
