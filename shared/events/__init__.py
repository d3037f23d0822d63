"""The event channel: a transactional outbox relayed to Redis Streams, read by consumer groups."""

from shared.events.consumer import EventConsumer, consumer_ctx
from shared.events.envelope import Event
from shared.events.outbox import OutboxRelay, record_event, relay_ctx

__all__ = ["Event", "EventConsumer", "OutboxRelay", "consumer_ctx", "record_event", "relay_ctx"]
