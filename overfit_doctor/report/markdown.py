"""Placeholder replaced by its author."""


def render(diagnosis, **options) -> str:
    raise NotImplementedError("markdown renderer not written yet")
