"""chat_service: general, direct and group chats, delivered live over websockets across replicas."""
