"""Every SQL statement of chat_service (asyncpg, $n parameters), one module per subject;
callers open the transactions and import the module they need, e.g.
`from chat_service.queries import messages as q_messages`."""
