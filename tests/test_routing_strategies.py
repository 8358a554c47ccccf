"""The design's strategies and on_unavailable modes, against its worked examples ("Routing Logic").

These drive `route()` with state in a temporary file and an explicit environment, so each example runs
exactly as the bridge would run it, call after call."""
from __future__ import annotations

from collections import Counter

import pytest

from lattice_env.config.model import Routing
from lattice_env.routing.decide import route
from lattice_env.routing.strategies import NoModelAvailable, choose, weighted_pick

SONNET, HAIKU, OPUS = "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-5"
GPT4O, GPT52, GEMINI = "openai/gpt-4o", "openai/gpt-5.2", "google/gemini-2.5-pro"
LLAMA8, LLAMA70 = "ollama/llama3.1:8b", "ollama/llama3.1:70b"
ALL_KEYS = {"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o", "GEMINI_API_KEY": "g"}


def config(routing: object) -> dict:
    return {"providers": {"anthropic": {"env": "ANTHROPIC_API_KEY", "local_budget": "unlimited"},
                          "openai": {"env": "OPENAI_API_KEY", "local_budget": 50},
                          "google": {"env": "GEMINI_API_KEY"},
                          "ollama": {"models": ["llama3.1:8b", "llama3.1:70b"]}},
            "agents": {"a": {"triggers": ["/a"], "routing": routing}}}


@pytest.fixture
def calls(tmp_path):
    """calls(routing, n, env=…, prompts=…) → the models of n committed calls of agent `a`."""
    path = tmp_path / "state.json"

    def run(routing: object, n: int, env: dict | None = None, prompts: list[str] | None = None,
            now: float = 1_700_000_000.0) -> list[str]:
        cfg = config(routing)
        out = []
        for i in range(n):
            prompt = prompts[i] if prompts else "do it"
            out.append(route(cfg, "a", prompt, commit=True, environ=ALL_KEYS if env is None else env,
                             path=path, now=now).model)
        return out
    run.path = path  # type: ignore[attr-defined]
    return run


def test_pattern_4_to_1_maximize_pro_subscription(calls):
    routing = {"strategy": "pattern", "pattern": [SONNET] * 4 + [GPT4O]}
    got = calls(routing, 10)
    assert got == [SONNET] * 4 + [GPT4O] + [SONNET] * 4 + [GPT4O]
    more = Counter(calls(routing, 100))
    assert more == {SONNET: 80, GPT4O: 20}  # exact, not approximately: the point of `pattern`


def test_pattern_free_first_with_periodic_quality_check(calls):
    routing = {"strategy": "pattern", "pattern": [LLAMA8] * 3 + [HAIKU]}
    assert calls(routing, 8) == [LLAMA8, LLAMA8, LLAMA8, HAIKU] * 2


def test_free_first_without_anthropic_key_stays_free_with_next(calls):
    routing = {"strategy": "pattern", "pattern": [LLAMA8] * 3 + [HAIKU], "on_unavailable": "next"}
    assert calls(routing, 8, env={}) == [LLAMA8] * 8


def test_round_robin_cycles_equally(calls):
    routing = {"strategy": "round_robin", "models": [SONNET, GPT4O, GEMINI]}
    assert calls(routing, 7) == [SONNET, GPT4O, GEMINI, SONNET, GPT4O, GEMINI, SONNET]


def test_fallback_is_first_available_and_a_plain_list_is_fallback(calls):
    assert calls([OPUS, GPT52], 3) == [OPUS] * 3
    assert calls({"strategy": "fallback", "models": [OPUS, GPT52]}, 2, env={"OPENAI_API_KEY": "o"}) == [GPT52] * 2


def test_weighted_50_50_over_10000_seeded_draws(calls):
    """Bound: |share − 0.5| < 0.02 is four standard deviations of a fair binomial at n = 10,000.

    A committed call's draw is `draw(seed, agent, call_count)` (decide.py), so the 10,000 draws are
    taken from it directly (a commit costs an fsync); the first 300 are also made as real commits, which
    must give exactly the same models, with `track` recording exactly what was chosen."""
    import json

    from lattice_env.routing.decide import draw

    routing = {"strategy": "weighted", "weights": {SONNET: 50, GEMINI: 50}, "track": True}
    r = Routing.from_data(routing)
    expected = [choose("a", r, 0, "", draw("lattice", "a", i), lambda m: None).model for i in range(10_000)]
    share = Counter(expected)[SONNET] / 10_000
    assert abs(share - 0.5) < 0.02
    committed = calls(routing, 300, env={**ALL_KEYS, "LATTICE_SEED": "lattice"})
    assert committed == expected[:300]
    state = json.loads(calls.path.read_text())
    assert state["routing_state"]["a"]["distribution"] == dict(Counter(committed))


def test_weighted_75_25_and_reproducible_by_seed(tmp_path):
    routing = {"strategy": "weighted", "weights": {SONNET: 75, GPT4O: 25}}
    runs = []
    for seed, name in (("1", "x"), ("1", "y"), ("2", "z")):
        env = {**ALL_KEYS, "LATTICE_SEED": seed}
        path = tmp_path / f"{name}.json"
        runs.append([route(config(routing), "a", commit=True, environ=env, path=path).model
                     for _ in range(200)])
    assert runs[0] == runs[1] and runs[0] != runs[2]
    from lattice_env.routing.decide import draw

    r = Routing.from_data(routing)
    many = Counter(choose("a", r, 0, "", draw("1", "a", i), lambda m: None).model for i in range(10_000))
    assert abs(many[SONNET] / 10_000 - 0.75) < 0.0175  # 4 sd at n = 10,000


def test_weighted_dry_run_predicts_the_next_commit(tmp_path):
    routing = {"strategy": "weighted", "weights": {SONNET: 1, GPT4O: 1}}
    path = tmp_path / "s.json"
    route(config(routing), "a", commit=True, environ=ALL_KEYS, path=path)  # the agent's seed is now stored
    for _ in range(20):
        dry = route(config(routing), "a", environ=ALL_KEYS, path=path)
        assert route(config(routing), "a", commit=True, environ=ALL_KEYS, path=path).model == dry.model


def test_burst_without_trigger(calls):
    routing = {"strategy": "burst", "iterate": LLAMA8, "final": OPUS, "burst_size": 5, "final_trigger": "finalize"}
    assert calls(routing, 12) == [LLAMA8] * 5 + [OPUS] + [LLAMA8] * 5 + [OPUS]


def test_burst_final_trigger_goes_to_final_at_once_and_starts_a_new_burst(calls):
    routing = {"strategy": "burst", "iterate": LLAMA8, "final": OPUS, "burst_size": 5, "final_trigger": "finalize"}
    prompts = ["draft", "again", "please Finalize it"] + ["more"] * 6
    assert calls(routing, 9, prompts=prompts) == [LLAMA8, LLAMA8, OPUS] + [LLAMA8] * 5 + [OPUS]


def test_on_unavailable_next_skips_to_the_next_available_slot(calls):
    routing = {"strategy": "pattern", "pattern": [SONNET, SONNET, GPT4O], "on_unavailable": "next"}
    assert calls(routing, 2) == [SONNET, SONNET]
    # position 2 (gpt-4o) is unavailable: the call goes on to slot 0, and the position moves past it
    assert calls(routing, 1, env={"ANTHROPIC_API_KEY": "a"}) == [SONNET]
    assert calls(routing, 3) == [SONNET, GPT4O, SONNET]  # slot 0 was used: slot 1 is next


def test_on_unavailable_retry_keeps_the_slot_for_the_next_call(calls):
    routing = {"strategy": "pattern", "pattern": [SONNET, GPT4O], "on_unavailable": "retry"}
    assert calls(routing, 1) == [SONNET]
    assert calls(routing, 3, env={"ANTHROPIC_API_KEY": "a"}) == [SONNET] * 3  # slot 1 held
    assert calls(routing, 2) == [GPT4O, SONNET]  # the held slot is served first once gpt-4o is back


def test_on_unavailable_fallback_uses_fallback_models(calls):
    routing = {"strategy": "pattern", "pattern": [SONNET, SONNET, GPT4O], "on_unavailable": "fallback",
               "fallback_models": [LLAMA70]}
    assert calls(routing, 6, env={"ANTHROPIC_API_KEY": "a"}) == [SONNET, SONNET, LLAMA70] * 2


def test_nothing_available_names_every_candidate_and_why(calls):
    routing = {"strategy": "pattern", "pattern": [SONNET, GPT4O], "on_unavailable": "fallback",
               "fallback_models": ["ollama/qwen2.5-coder:32b"]}
    with pytest.raises(NoModelAvailable) as err:
        calls(routing, 1, env={})
    assert str(err.value) == (
        "no model is available for agent a: anthropic/claude-sonnet-4-5 (ANTHROPIC_API_KEY is not set); "
        "ollama/qwen2.5-coder:32b (ollama does not list qwen2.5-coder:32b in its models)")
    with pytest.raises(NoModelAvailable, match=r"sonnet-4-5 \(ANTHROPIC_API_KEY is not set\); "
                                               r"openai/gpt-4o \(OPENAI_API_KEY is not set\)$"):
        calls({"strategy": "round_robin", "models": [SONNET, GPT4O]}, 1, env={})
    assert not calls.path.exists()  # a failed commit writes nothing


def test_weighted_next_redraws_among_the_available():
    routing = Routing.from_data({"strategy": "weighted", "weights": {SONNET: 1, GPT4O: 1, GEMINI: 2}})
    reason = lambda m: "down" if m == GEMINI else None  # noqa: E731
    picks = Counter(choose("a", routing, 0, "", i / 1000, reason).model for i in range(1000))
    assert picks == {SONNET: 500, GPT4O: 500}


def test_weighted_pick_intervals():
    w = ((SONNET, 3.0), (GPT4O, 1.0))
    assert [weighted_pick(w, u) for u in (0.0, 0.74, 0.75, 0.999)] == [SONNET, SONNET, GPT4O, GPT4O]
