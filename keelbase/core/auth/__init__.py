"""Auth collections' options and their checks, and the mails they send: no I/O."""
