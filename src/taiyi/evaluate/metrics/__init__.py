"""The metric registry and the metric arithmetic (see ``registry.py`` for how to add a metric).

``get_metric(name)(preds, golds, ctx)`` scores; ``metric_names()`` lists; ``standard.py`` holds the registered
metrics (strict/label/macro F1, span-grounded F1, accuracy, ROUGE-L, token F1, BLEU, chrF, Pearson, Spearman).
"""

from taiyi.evaluate.metrics import standard  # noqa: F401  (registers the standard metrics)
from taiyi.evaluate.metrics import concepts, lab, spans  # noqa: F401  (span, concept and convention metrics)
from taiyi.evaluate.metrics.grounding import Grounder, grounded_f1, grounded_sets
from taiyi.evaluate.metrics.registry import Metric, get_metric, metric_names, register_metric
from taiyi.evaluate.metrics.sets import UNPARSEABLE, accuracy, choice_correct, label_f1, prf, set_f1
from taiyi.evaluate.metrics.standard import as_set, freeze

__all__ = [
    "Grounder", "Metric", "UNPARSEABLE", "accuracy", "as_set", "choice_correct", "freeze", "get_metric",
    "grounded_f1", "grounded_sets", "label_f1", "metric_names", "prf", "register_metric", "set_f1",
]
