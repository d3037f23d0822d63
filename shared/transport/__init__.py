"""How processes talk: the HTTP/1.1 client, calls to other services, pipelined Redis reads,
the self-healing pub/sub subscriber and the JSON codec."""
