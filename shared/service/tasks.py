"""The former home of the supervised loops, now shared/tasks.py (every room of shared/ runs
background loops, so they sit beside logs.py at the root). chat_service's modules still
import them from here; once they import shared.tasks, this module goes."""

from shared.tasks import background_ctx, cancel_requested, stop_task, supervise

__all__ = ["background_ctx", "cancel_requested", "stop_task", "supervise"]
