"""Every SQL statement of chat_service (asyncpg, $n parameters); callers open transactions.

Callers use `queries.<statement>`; the statements live in modules by subject.
"""

from chat_service.queries.chats import *  # noqa: F403
from chat_service.queries.messages import *  # noqa: F403
from chat_service.queries.rules import *  # noqa: F403
from chat_service.queries.users import *  # noqa: F403
