"""One-line reasons for failures reported on stderr."""


def first_line(error: BaseException) -> str:
    """The line that says why: wasmtime puts the cause after a backtrace."""
    text = str(error).strip()
    if "Caused by:" in text:
        text = text.split("Caused by:", 1)[1].strip()
    return text.splitlines()[0].strip() if text else type(error).__name__
