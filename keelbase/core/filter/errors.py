"""The one error of the filter language: the text is wrong, and why."""


class FilterError(ValueError):
    """A filter or rule that cannot be parsed or resolved; the message says why."""
