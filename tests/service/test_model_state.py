"""The model state warms a model up before serving it, so no request pays first-call costs."""

from __future__ import annotations

from service.model_state import ModelState


def test_a_loaded_model_has_its_actor_tables_built(full_registry):
    state = ModelState(full_registry)
    tagger = state.get()
    assert tagger is not None
    # cached properties built by warm_up, not by a first request
    assert {"actors"} <= set(vars(tagger))
    assert {"scan", "spelled", "simple"} <= set(vars(tagger.actors))
