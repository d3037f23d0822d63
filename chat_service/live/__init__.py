"""The real-time part of chat_service: every device's websocket, and the fan-out of events
across replicas.

A change is stored first, then published once on Redis pub/sub (`publisher`, in the format
of `wire`); every replica subscribes (`hub`) to the chats and users of its own sockets
(`registry`), orders each chat's messages by seq and fills gaps from the database
(`ordering`), replays what a socket missed (`replay`), and writes frames to the sockets
(`sockets`). `session` runs one device's websocket; `presence` counts devices across
replicas.
"""
