"""What several social_service test files share."""

from shared.contracts.social_facts import Counts, SocialFacts
from tests.typing import AppClient
from tests.waiting import until


async def seen_by(
    social: AppClient, facts: SocialFacts, viewer: int, article_ids: list[int]
) -> Counts:
    """What posts_service shows the viewer: the published facts, or, when one is missing,
    social's summary, which fills them; then the facts must be there. (Asked again for a
    few seconds: on a busy machine a slow Redis call opens a client's breaker for a moment,
    and a read meanwhile finds nothing, as it is meant to.)"""

    async def read() -> Counts | None:
        counts = await facts.read(article_ids, [], viewer)
        if counts is None:
            body = {"articleIds": article_ids, "viewerId": viewer}
            assert (await social.post("/internal/summary", json=body)).status == 200
            counts = await facts.read(article_ids, [], viewer)
        return counts

    return await until(read, timeout=10, every=0.5)
