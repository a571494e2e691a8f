"""Small helpers about numbers written as text."""


def is_number(text: str) -> bool:
    """True when ``float(text)`` succeeds (``"3"``, ``"-0.5"``, ``"1e-3"``, ``"nan"``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True
