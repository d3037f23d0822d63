"""chat_service: general, direct and group chats with real-time delivery (skeleton for now)."""
