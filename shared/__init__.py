"""What every Chop-chop service shares, grouped by role: service wiring, the web surface,
data, transport, the contracts between services and the event channel."""
