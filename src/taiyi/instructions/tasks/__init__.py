"""Task codecs, one module per task (design §3): ``examples``, ``render``, ``parse``, ``score``."""
