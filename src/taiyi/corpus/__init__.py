"""The unified corpus: BigBio-style record schemas (kb/qa/text/pairs/t2t/dialogue), validation, IO.

This package is the file contract between ``sources`` (readers) and ``instructions`` (builders).
"""
