"""A live room's state as the pipeline sees it: its line-up (link order) and the product on stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowledge.store import Store


@dataclass
class RoomState:
    """The room's line-up in link order ("1号链接" is `lineup[0]`) and the product on stage."""

    room_id: str
    title: str = ""
    platform: str = "douyin"
    lineup: list[dict[str, Any]] = field(default_factory=list)  # full product rows, in link order
    on_stage: str | None = None

    @property
    def lineup_ids(self) -> list[str]:
        """Product ids in link order."""
        return [p["id"] for p in self.lineup]

    def product(self, product_id: str) -> dict[str, Any] | None:
        """The line-up's product with this id, or None."""
        return next((p for p in self.lineup if p["id"] == product_id), None)

    @classmethod
    def load(cls, store: Store, room_id: str) -> RoomState:
        """Read a room and its line-up's current product rows from the store."""
        room = store.get_room(room_id)
        by_id = {p["id"]: p for p in store.list_products(room["lineup"])}
        lineup = [by_id[pid] for pid in room["lineup"] if pid in by_id]
        return cls(room_id=room_id, title=room["title"], platform=room["platform"],
                   lineup=lineup, on_stage=room["on_stage"])
