"""state.json: persistence across processes, local-midnight rollover, corrupt files, routing changes,
and the availability rules that read it (budgets, 429 cool-downs, session skips)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import write_project

from lattice_env.config.model import Provider
from lattice_env.providers.kinds import is_local
from lattice_env.routing.availability import cooldown_seconds, record_failure, skip_provider
from lattice_env.routing.decide import reset, route
from lattice_env.routing.state import read_state, transaction
from lattice_env.routing.strategies import NoModelAvailable
from lattice_env.routing.usage import estimate, record_usage

SONNET, GPT4O, LLAMA = "anthropic/claude-sonnet-4-5", "openai/gpt-4o", "ollama/llama3.1:8b"
KEYS = {"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o"}
T0 = time.mktime((2026, 3, 1, 12, 0, 0, 0, 0, -1))  # local noon


def cfg(routing: object = None, budget: object = 50) -> dict:
    return {"providers": {"anthropic": {"env": "ANTHROPIC_API_KEY"},
                          "openai": {"env": "OPENAI_API_KEY", "local_budget": budget},
                          "ollama": {"models": ["llama3.1:8b"]}},
            "agents": {"impl": {"triggers": ["/impl"], "routing": routing or {
                "strategy": "pattern", "pattern": [SONNET, SONNET, SONNET, GPT4O]}}}}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "state.json"


def models(path, n, config=None, now=T0, env=KEYS, session=None):
    return [route(config or cfg(), "impl", "x", commit=True, session=session, environ=env, path=path,
                  now=now).model for _ in range(n)]


def test_state_persists_across_processes(tmp_path):
    """Each call in its own interpreter, as with `lattice run` launches: the pattern continues."""
    code = ("import json,sys; from lattice_env.routing.decide import route;"
            "print(route(json.loads(sys.argv[1]), 'impl', commit=True, environ={'ANTHROPIC_API_KEY':'a',"
            "'OPENAI_API_KEY':'o'}).model)")
    env = {"LATTICE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    got = [subprocess.run([sys.executable, "-c", code, json.dumps(cfg())], env=env, check=True,
                          capture_output=True, text=True).stdout.strip() for _ in range(5)]
    assert got == [SONNET, SONNET, SONNET, GPT4O, SONNET]
    state = json.loads((tmp_path / "home" / "state.json").read_text())
    entry = state["routing_state"]["impl"]
    assert (entry["pattern_index"], entry["call_count"], entry["last_model"]) == (1, 5, SONNET)


def test_dry_run_leaves_state_unchanged(path):
    route(cfg(), "impl", environ=KEYS, path=path)
    assert not path.exists()
    models(path, 2)
    before = path.read_bytes()
    assert route(cfg(), "impl", environ=KEYS, path=path).model == SONNET
    assert path.read_bytes() == before


def test_day_counters_roll_over_at_local_midnight(path):
    before_midnight = time.mktime((2026, 3, 1, 23, 59, 50, 0, 0, -1))
    after_midnight = time.mktime((2026, 3, 2, 0, 0, 10, 0, 0, -1))
    models(path, 3, now=before_midnight)
    record_usage("openai", "gpt-4o", 1000, 1000, now=before_midnight, path=path)
    s = read_state(path, now=before_midnight + 5)
    assert s["routing_state"]["impl"]["calls_today"] == 3 and s["provider_usage"]["openai"]["calls_today"] == 1
    s = read_state(path, now=after_midnight)
    assert s["routing_state"]["impl"]["calls_today"] == 0
    assert s["routing_state"]["impl"]["call_count"] == 3  # the position and lifetime count go on
    assert s["provider_usage"]["openai"]["estimated_spend"] == 0
    assert models(path, 1, now=after_midnight) == [GPT4O]
    assert read_state(path, now=after_midnight)["routing_state"]["impl"]["calls_today"] == 1


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"routing_state": []}',
                                     b'{"routing_state": {"impl": {"pattern_index": "two"}}}'])
def test_corrupt_state_is_moved_aside_with_a_warning(path, content):
    path.write_bytes(content)
    warnings: list[str] = []
    assert route(cfg(), "impl", environ=KEYS, path=path).warnings  # a dry run warns, moves nothing
    assert path.read_bytes() == content
    d = route(cfg(), "impl", commit=True, environ=KEYS, path=path, now=T0)
    assert d.model == SONNET
    assert len(d.warnings) == 1 and "was corrupt" in d.warnings[0] and "moved it to state.json.corrupt-" in d.warnings[0]
    aside = list(path.parent.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert json.loads(path.read_text())["routing_state"]["impl"]["call_count"] == 1
    assert not warnings



def test_changing_the_routing_resets_the_position(path):
    models(path, 2)
    changed = cfg({"strategy": "pattern", "pattern": [GPT4O, SONNET]})
    assert models(path, 1, config=changed) == [GPT4O]
    entry = read_state(path, now=T0)["routing_state"]["impl"]
    assert entry["call_count"] == 1 and entry["calls_today"] == 3  # today's count survives the change


def test_reset_puts_agents_back_at_position_zero(path):
    models(path, 2)
    assert reset("impl", path=path, now=T0) == ["impl"]
    assert models(path, 4) == [SONNET, SONNET, SONNET, GPT4O]
    with pytest.raises(Exception, match="unknown agent nope"):
        reset("nope", ["impl"], path=path)


def test_budget_exceeded_skips_the_provider(path):
    routing = {"strategy": "pattern", "pattern": [GPT4O, SONNET]}
    # gpt-4o: $2.50 / $10 per million → 4M input + 4M output tokens = $50
    spend = record_usage("openai", "gpt-4o", 4_000_000, 4_000_000, now=T0, path=path)
    assert spend == pytest.approx(50.0)
    d = route(cfg(routing), "impl", commit=True, environ=KEYS, path=path, now=T0)
    assert d.model == SONNET
    assert d.skipped == [(GPT4O, "openai is over its local_budget ($50.00 of $50 this month)")]
    assert route(cfg(routing, budget="unlimited"), "impl", environ=KEYS, path=path, now=T0).model == GPT4O


def test_local_budget_caps_a_month_unless_budget_period_is_day(path):
    """Provider dashboards bill by the month, so `local_budget: 50` is $50 a (local, calendar) month;
    `budget_period: day` makes it $50 a day. Month counters roll over on the 1st at local midnight."""
    routing = {"strategy": "pattern", "pattern": [GPT4O, SONNET]}
    daily = cfg(routing)
    daily["providers"]["openai"]["budget_period"] = "day"
    march_1, march_2 = T0, T0 + 24 * 3600
    april_1 = time.mktime((2026, 4, 1, 0, 0, 5, 0, 0, -1))
    record_usage("openai", "gpt-4o", 2_000_000, 2_000_000, now=march_1, path=path)  # $25
    record_usage("openai", "gpt-4o", 2_000_000, 2_000_000, now=march_2, path=path)  # $25 more, next day
    usage = read_state(path, now=march_2)["provider_usage"]["openai"]
    assert (usage["estimated_spend"], usage["estimated_spend_month"], usage["calls_today"],
            usage["calls_month"], usage["month"]) == (25.0, 50.0, 1, 2, "2026-03")
    d = route(cfg(routing), "impl", environ=KEYS, path=path, now=march_2)
    assert d.skipped == [(GPT4O, "openai is over its local_budget ($50.00 of $50 this month)")]
    assert route(daily, "impl", environ=KEYS, path=path, now=march_2).model == GPT4O  # $25 today
    usage = read_state(path, now=april_1)["provider_usage"]["openai"]
    assert (usage["estimated_spend_month"], usage["calls_month"], usage["month"]) == (0, 0, "2026-04")
    assert route(cfg(routing), "impl", environ=KEYS, path=path, now=april_1).model == GPT4O


def test_usage_counts_tokens_and_estimates_spend(path):
    assert estimate("anthropic/claude-sonnet-4-5-20250929", 1_000_000, 0) == 3.0  # dated ids too
    assert record_usage("ollama", "llama3.1:8b", 10, 20, now=T0, path=path) == 0.0
    assert record_usage("acme", "unknown-model", 10, 20, now=T0, path=path) is None  # tokens only
    usage = read_state(path, now=T0)["provider_usage"]
    assert usage["acme"] == {"calls_today": 1, "input_tokens": 10, "output_tokens": 20, "estimated_tokens": 30,
                             "estimated_spend": 0.0, "calls_month": 1, "input_tokens_month": 10,
                             "output_tokens_month": 20, "estimated_tokens_month": 30,
                             "estimated_spend_month": 0.0, "unpriced_models": ["acme/unknown-model"],
                             "day": "2026-03-01", "month": "2026-03"}


def test_cooldown_skips_the_model_until_it_expires(path):
    until = record_failure(SONNET, "rate_limit", now=T0, environ={"LATTICE_COOLDOWN": "30"}, path=path)["until"]
    assert until == T0 + 30
    d = route(cfg(), "impl", environ=KEYS, path=path, now=T0 + 29)
    assert d.model == GPT4O and d.skipped == [(SONNET, "cooling down after a 429 (1s left)")]
    assert route(cfg(), "impl", environ=KEYS, path=path, now=T0 + 30).model == SONNET
    with transaction(path, T0 + 31) as s:  # expired cool-downs are dropped on the next write
        assert s["cooldowns"] == {}


def test_retry_after_wins_over_the_default_cooldown(path):
    assert cooldown_seconds(None, {}) == 60
    assert cooldown_seconds("7", {"LATTICE_COOLDOWN": "30"}) == 7
    noon_gmt = 1772366400.0  # Sun, 01 Mar 2026 12:00:00 GMT
    assert cooldown_seconds("Sun, 01 Mar 2026 12:02:00 GMT", {}, now=noon_gmt) == 120
    record_failure("openai", "rate_limit", retry_after=300, now=T0, path=path)  # a whole provider
    d = route(cfg(), "impl", environ=KEYS, path=path, now=T0 + 100)
    assert models(path, 4, now=T0 + 100) == [SONNET] * 4
    assert read_state(path, now=T0 + 100)["provider_usage"]["openai"]["rate_limited_today"] == 1
    assert d.model == SONNET


def test_skip_provider_applies_to_its_session_only(path):
    skip_provider("anthropic", "s1", now=T0, path=path)
    assert models(path, 2, session="s1") == [GPT4O, GPT4O]
    assert models(path, 1, session="s2") == [SONNET]


def test_ollama_style_provider_must_list_the_model(path):
    routing = {"strategy": "fallback", "models": ["ollama/not-pulled:1b", LLAMA]}
    d = route(cfg(routing), "impl", environ={}, path=path)
    assert d.model == LLAMA and d.skipped == [("ollama/not-pulled:1b", "ollama does not list not-pulled:1b in its models")]


def test_a_local_provider_is_ollama_or_a_base_url_without_credentials():
    cases = {Provider("ollama"): True, Provider("lm", base_url="http://x"): True,
             Provider("k", env="K", base_url="http://x"): False,
             Provider("a", auth="antigravity", base_url="http://x"): False,
             Provider("openai", env="OPENAI_API_KEY"): False, Provider("lm"): False}
    assert {p: is_local(p) for p in cases} == cases


def test_no_model_available_is_one_line(path):
    with pytest.raises(NoModelAvailable) as err:
        route(cfg(), "impl", environ={}, path=path)
    assert "\n" not in str(err.value)


def test_a_workflow_and_its_config_dict_route_alike(design_project, path):
    from lattice_env.config.load import load_workflow

    loaded = load_workflow(directory=design_project)
    env = {"OPENAI_API_KEY": "o"}
    for agent in loaded.workflow.agents:
        a = route(loaded.workflow, agent, environ=env, path=path)
        b = route(loaded.config.data, agent, environ=env, path=path)
        assert a == b, agent


def test_a_workflow_carries_budget_period_as_its_config_dict_does(tmp_path, monkeypatch):
    from lattice_env.config.load import load_workflow
    from lattice_env.routing.table import table_for

    write_project(tmp_path,
        "name: p\nproviders:\n  openai: {env: OPENAI_API_KEY, local_budget: 5, budget_period: day}\n"
        "  anthropic: {env: ANTHROPIC_API_KEY, local_budget: 5}\n"
        "agents:\n  impl: {routing: [openai/gpt-4o, anthropic/claude-sonnet-4-5]}\n", {"impl": "You implement.\n"})
    monkeypatch.setenv("OPENAI_API_KEY", "o")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a")
    loaded = load_workflow(directory=tmp_path)
    for source in (loaded.workflow, loaded.config.data):
        providers = table_for(source).providers
        assert (providers["openai"].budget_period, providers["anthropic"].budget_period) == ("day", "month")
