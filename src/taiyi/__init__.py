"""Taiyi: bilingual (Chinese-English) biomedical LLMs by multi-task instruction tuning.

The package follows the pipeline, one sub-package per stage, data flowing one way:
``sources`` (raw files -> records) -> ``corpus`` (unified schema) -> ``instructions`` (chat records)
-> ``train`` -> ``infer`` -> ``evaluate``. A stage never imports a later one.
"""

__version__ = "0.1.0"
