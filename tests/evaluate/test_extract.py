"""The flexible reader against a table of realistic answer phrasings (both languages), read as a person would;
the strict reading stays the codec's; garbage still fails. Ids are illustrative; no model is needed."""

from __future__ import annotations

import pytest

from taiyi.evaluate.extract import clean, read
from taiyi.instructions.tasks.base import ParseError

MEDQA = {"lang": "en", "phrasing": 0, "qtype": "multiple_choice",
         "choices": ["Ampicillin", "Ceftriaxone", "Ciprofloxacin", "Doxycycline", "Nitrofurantoin"]}
MEDQA_ZH = {"lang": "zh", "phrasing": 0, "qtype": "multiple_choice",
            "choices": ["阿司匹林", "布洛芬", "对乙酰氨基酚", "吗啡", "曲马多"]}
PUBMEDQA = {"lang": "en", "phrasing": 0, "qtype": "yesno", "choices": ["yes", "no", "maybe"]}
NER_EN = {"lang": "en", "phrasing": 0, "types": [["Chemical", "chemical"], ["Disease", "disease"]]}
NER_ZH = {"lang": "zh", "phrasing": 0, "types": [["dis", "疾病"], ["bod", "身体部位"]]}
RE_EN = {"lang": "en", "phrasing": 0, "types": [["CID", "chemical-induced disease"]]}
CLS_EN = {"lang": "en", "phrasing": 0, "options": [["Treatment", "Treatment"], ["Diagnosis", "Diagnosis"],
                                                   ["Prevention", "Prevention"]]}
CLS_ZH = {"lang": "zh", "phrasing": 0, "options": [["治疗方案", "治疗方案"], ["病因分析", "病因分析"]]}

# (task, meta, answer, what a person reads)
TABLE = [
    # multiple choice, English
    ("mcqa", MEDQA, "E", "Nitrofurantoin"),
    ("mcqa", MEDQA, "e", "Nitrofurantoin"),
    ("mcqa", MEDQA, "(b)", "Ceftriaxone"),
    ("mcqa", MEDQA, "The answer is (b).", "Ceftriaxone"),
    ("mcqa", MEDQA, "**B**", "Ceftriaxone"),
    ("mcqa", MEDQA, "**Answer: E. Nitrofurantoin**", "Nitrofurantoin"),
    ("mcqa", MEDQA, "b. Ceftriaxone", "Ceftriaxone"),
    ("mcqa", MEDQA, "The correct answer is C: Ciprofloxacin.", "Ciprofloxacin"),
    ("mcqa", MEDQA, "Answer: d", "Doxycycline"),
    ("mcqa", MEDQA, "Nitrofurantoin is the best choice here.", "Nitrofurantoin"),
    ("mcqa", MEDQA, "The answer is Nitrofurantoin, since it is safe in pregnancy.", "Nitrofurantoin"),
    ("mcqa", MEDQA, "Option A is wrong because of resistance. Option C is contraindicated in pregnancy. "
                    "Therefore, the answer is E.", "Nitrofurantoin"),
    ("mcqa", MEDQA, "Answer: B\n\nExplanation: option A is less effective and option D harms the fetus.", "Ceftriaxone"),
    ("mcqa", MEDQA, "<think>Pregnant, UTI. Cipro and doxy are out; maybe A? No, E.</think>\nE. Nitrofurantoin", "Nitrofurantoin"),
    ("mcqa", MEDQA, "Let me think step by step. Fluoroquinolones are avoided in pregnancy.\n"
                    "Final answer: (E)", "Nitrofurantoin"),
    ("mcqa", MEDQA, "I would choose D.", "Doxycycline"),
    ("mcqa", MEDQA, "## Answer\n**(C) Ciprofloxacin**", "Ciprofloxacin"),
    # multiple choice, Chinese
    ("mcqa", MEDQA_ZH, "答案：d", "吗啡"),
    ("mcqa", MEDQA_ZH, "【答案】D", "吗啡"),
    ("mcqa", MEDQA_ZH, "D项", "吗啡"),
    ("mcqa", MEDQA_ZH, "正确答案是B。", "布洛芬"),
    ("mcqa", MEDQA_ZH, "本题应选C，对乙酰氨基酚对胃肠道刺激小。", "对乙酰氨基酚"),
    ("mcqa", MEDQA_ZH, "分析：A项会加重出血，B项同理。故选E。", "曲马多"),
    ("mcqa", MEDQA_ZH, "答案：（A）", "阿司匹林"),
    ("mcqa", MEDQA_ZH, "对乙酰氨基酚", "对乙酰氨基酚"),
    ("mcqa", MEDQA_ZH, "选项B正确", "布洛芬"),
    ("mcqa", MEDQA_ZH, "<think>患者有胃溃疡……</think>答案是：C", "对乙酰氨基酚"),
    ("mcqa", MEDQA_ZH, "答案：我认为是B，因为布洛芬……", "布洛芬"),
    ("mcqa", MEDQA_ZH, "答案为E", "曲马多"),
    ("mcqa", MEDQA, "The correct answer is **C. Ciprofloxacin**", "Ciprofloxacin"),
    ("mcqa", MEDQA, "The answer is: Nitrofurantoin (E)", "Nitrofurantoin"),
    ("mcqa", MEDQA, "(D) is correct.", "Doxycycline"),
    # yes / no / maybe
    ("mcqa", PUBMEDQA, "yes", "yes"),
    ("mcqa", PUBMEDQA, "The answer is yes.", "yes"),
    ("mcqa", PUBMEDQA, "Based on the abstract, yes.", "yes"),
    ("mcqa", PUBMEDQA, "No. The trial found no difference in mortality.", "no"),
    ("mcqa", PUBMEDQA, "**Maybe** - the evidence is mixed.", "maybe"),
    ("mcqa", PUBMEDQA, "The study suggests a benefit, but the sample is small. So the answer is maybe.", "maybe"),
    ("mcqa", PUBMEDQA, "Answer: (A)", "yes"),
    ("mcqa", PUBMEDQA, "The results indicate that the intervention works; therefore, yes.", "yes"),
    # typed lists: entities
    ("ner", NER_EN, "Chemical: famotidine\nDisease: delirium; ulcers",
     [["Chemical", "famotidine"], ["Disease", "delirium"], ["Disease", "ulcers"]]),
    ("ner", NER_EN, "**Chemicals**: famotidine\n**Diseases**: delirium, ulcers",
     [["Chemical", "famotidine"], ["Disease", "delirium"], ["Disease", "ulcers"]]),
    ("ner", NER_EN, "- Chemical entities: famotidine\n- Disease entities: delirium",
     [["Chemical", "famotidine"], ["Disease", "delirium"]]),
    ("ner", NER_EN, '```json\n{"Chemical": ["famotidine"], "Disease": ["delirium"]}\n```',
     [["Chemical", "famotidine"], ["Disease", "delirium"]]),
    ("ner", NER_EN, "<think>famotidine is a drug</think>\nchemical: famotidine",
     [["Chemical", "famotidine"]]),
    ("ner", NER_EN, "No entities of the requested types were found.", []),
    ("ner", NER_ZH, "疾病：糖尿病足；感染\n身体部位：足", [["bod", "足"], ["dis", "感染"], ["dis", "糖尿病足"]]),
    ("ner", NER_ZH, "部位：足\n疾病：感染; 坏疽病变", [["dis", "坏疽病变"], ["dis", "感染"]]),
    ("ner", NER_ZH, "疾病实体：感染、坏疽", [["dis", "坏疽"], ["dis", "感染"]]),
    # typed lists: relations (Taiyi's released format among them)
    ("re", RE_EN, "chemical-induced disease: [famotidine, delirium]; [clonidine, hypotension]",
     [["CID", "clonidine", "hypotension"], ["CID", "famotidine", "delirium"]]),
    ("re", RE_EN, "[famotidine, delirium]", [["CID", "famotidine", "delirium"]]),
    ("re", RE_EN, "Chemical-induced disease: famotidine -> delirium", [["CID", "famotidine", "delirium"]]),
    ("re", RE_EN, '[{"head": "famotidine", "tail": "delirium", "type": "chemical-induced disease"}]',
     [["CID", "famotidine", "delirium"]]),
    # classification
    ("cls", CLS_EN, "Result: Treatment", ["Treatment"]),
    ("cls", CLS_EN, "**Category:** treatment; prevention", ["Prevention", "Treatment"]),
    ("cls", CLS_ZH, "上述文本被分类为：治疗方案", ["治疗方案"]),
    ("cls", CLS_ZH, "<think>问的是怎么治</think>该文本属于：治疗方案。", ["治疗方案"]),
]

GARBAGE = [
    ("mcqa", MEDQA, "I am not sure, I cannot answer medical questions."),
    ("mcqa", MEDQA, "The answer is unclear from the information given."),
    ("mcqa", MEDQA_ZH, "我无法回答这个问题。"),
    ("mcqa", MEDQA, "<think>Let me consider option E"),
    ("mcqa", PUBMEDQA, "It depends on many factors."),
    ("mcqa", MEDQA, "Answer: I think more information is needed."),
    ("mcqa", MEDQA_ZH, "答案：无法确定"),
    ("ner", NER_EN, "Sorry, I cannot help with that."),
    ("re", RE_EN, "The text is about drugs."),
    ("cls", CLS_EN, "This is an interesting abstract."),
]


def test_table_is_large_and_bilingual():
    assert len(TABLE) >= 40
    assert {m["lang"] for _, m, _, _ in TABLE} == {"en", "zh"}
    assert {t for t, *_ in TABLE} >= {"mcqa", "ner", "re", "cls"}


@pytest.mark.parametrize("task,meta,answer,expected", TABLE, ids=[f"{i}:{r[2][:30]}" for i, r in enumerate(TABLE)])
def test_flexible_reads_as_a_person(task, meta, answer, expected):
    assert read(answer, task, meta, "flexible") == expected


@pytest.mark.parametrize("task,meta,answer", GARBAGE, ids=[g[2][:30] for g in GARBAGE])
def test_garbage_still_fails(task, meta, answer):
    with pytest.raises(ParseError):
        read(answer, task, meta, "flexible")


def test_strict_is_the_codec_and_stricter():
    assert read("E. Nitrofurantoin", "mcqa", MEDQA, "strict") == "Nitrofurantoin"
    for answer in ("The answer is (b).", "答案：d"):
        meta = MEDQA if answer.isascii() else MEDQA_ZH
        with pytest.raises(ParseError):
            read(answer, "mcqa", meta, "strict")
        assert read(answer, "mcqa", meta, "flexible")


def test_clean_removes_reasoning_and_markdown():
    assert clean("<think>x\ny</think>\n**B**") == "B"
    assert clean("reasoning only</think>Answer: `C`") == "Answer: C"
    assert clean("<think>never closed") == ""
