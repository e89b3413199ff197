"""Instructions: task codecs (examples/render/parse/score), templates as data, and the two-stage builder."""
