"""Live rooms: the WebSocket protocol, the hub that turns comments into cards, keys and limits."""

from __future__ import annotations

from typing import Any

from api.live.auth import ApiKeys
from api.live.hub import Hub, LiveConfig

__all__ = ["ApiKeys", "Hub", "LiveConfig", "build_hub"]


def build_hub(services: Any) -> Hub:
    """The live hub over whatever parts `services` has (any of them may be None)."""
    s = services.settings
    config = LiveConfig(queue_size=s.subscriber_queue_size, max_backlog=s.live_max_backlog,
                        batch_max=s.live_batch_max, replay_max=s.live_replay_max,
                        pitch_interval_s=s.live_pitch_interval_s, board=s.cards)
    from api.live.bus import make_bus

    rebuild_window = float(getattr(s, "group_window_s", 120.0))
    config.rebuild_window_s = rebuild_window
    return Hub(services.store, pipeline=services.pipeline, answerer=services.answerer,
               compliance=services.compliance, recommender=services.recommender, config=config,
               auth=ApiKeys.from_settings(s), bus=make_bus(s.bus_url, s.bus_lease_ms))
