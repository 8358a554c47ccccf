"""Routing: which model serves an agent's next prompt, and the small mutable state that decides it.

One implementation for every caller — `lattice route`, `lattice run` and the bridge inside opencode —
so a pattern advances the same way whoever asks. Modules, one concept each:

    types.py        Routing, Provider and Failover (config/model.py re-exports them)
    table.py        the routing-relevant part of a configuration (a manifest's dict or a Workflow)
    strategies.py   pure functions: routing + position + prompt + availability → choice
    availability.py why a model cannot be used now; the cool-downs failures cause (record_failure) and
                    session skips (also by hooks.on_budget_exceeded)
    state.py        <data dir>/state.json: locked atomic read-modify-write, a durable checkpoint at most
                    once a second, day and month rollover, torn- and corrupt-file recovery
    usage.py        tokens and estimated spend from provider responses (prices.json)
    decide.py       `route()`, the one entry point, plus reset
    report.py       rows for `lattice routing` and `lattice status providers`
    bridge.py       what the opencode bridge asks for each call; serve.py, the routing process that
                    answers it, one per opencode process

`route()` runs once per LLM call inside opencode, in the routing process that opencode's bridge starts
(or, one-shot, in a fresh interpreter): this package keeps the import rule of docs/architecture.md
("Hot paths").
"""
