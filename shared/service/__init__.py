"""How a service is put together and run: the app factory, supervised loops, timed jobs."""
