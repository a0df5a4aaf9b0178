"""A complete, valid course module (courses/MODULES.md) to build test content from."""

from __future__ import annotations

import copy

_MODULE = {
    "title": "城乡居民养老保险死亡待遇申领",
    "summary": "学会一次收齐材料、当场受理死亡待遇申领。",
    "guide": {
        "who": "指定受益人或法定继承人。",
        "materials": [
            {"name": "死亡证明", "form": "原件", "copies": 1},
            {"name": "继承人居民身份证", "form": "原件和复印件", "copies": 1},
        ],
        "where": "村便民服务站受理，镇社保所复核。",
        "channels": ["现场办", "上门办"],
        "steps": ["代办员受理并初审", "镇社保所复核", "县经办机构审批发放"],
        "signer": "镇社保所经办人审核盖章。",
        "time_limit": "以当地办事指南为准。",
        "fee": "免费",
        "reform": "过去跑 5 个地方，现在一次办结。",
    },
    "tell_once": "大伯，您带上死亡证明和您的身份证、户口簿来就行。",
    "mistakes": [
        {"mistake": "漏带继承关系证明", "fix": "提前一次性告知"},
        {"mistake": "把丧葬补助金说成全国统一", "fix": "说明以当地政策为准"},
        {"mistake": "银行账户已注销", "fix": "登记继承人账户"},
    ],
    "emergencies": [
        {"situation": "系统故障", "action": "登记材料，恢复后补录并电话告知"},
        {"situation": "本人无法到场", "action": "预约上门办"},
        {"situation": "缺少证明材料", "action": "告知替代证明"},
    ],
    "practice": {
        "materials": {
            "prompt": "哪些材料是必须的？",
            "options": [
                {"id": "m1", "text": "死亡证明", "correct": True},
                {"id": "m2", "text": "继承人身份证", "correct": True},
                {"id": "m3", "text": "结婚证", "correct": False, "feedback": "不需要"},
                {"id": "m4", "text": "房产证", "correct": False, "feedback": "与本事项无关"},
                {"id": "m5", "text": "毕业证", "correct": False, "feedback": "与本事项无关"},
                {"id": "m6", "text": "驾驶证", "correct": False, "feedback": "与本事项无关"},
            ],
        },
        "channel": {
            "prompt": "去哪里办？",
            "options": [
                {"id": "c1", "text": "村便民服务站", "correct": True, "feedback": "可以受理"},
                {"id": "c2", "text": "县民政局", "correct": False, "feedback": "不是经办机构"},
                {"id": "c3", "text": "派出所", "correct": False, "feedback": "只办户口注销"},
            ],
        },
        "order": {"prompt": "排序", "steps": ["受理", "初审", "复核", "发放"]},
        "form": {
            "title": "《注销登记表》",
            "case": "张阿大，身份证号 330624195003150016，2026-10-08 去世，儿子电话 13857512345。",
            "fields": [
                {"id": "name", "label": "姓名", "type": "text", "expected": "张阿大"},
                {
                    "id": "id_number",
                    "label": "公民身份号码",
                    "type": "id_number",
                    "expected": "330624195003150016",
                },
                {"id": "death_date", "label": "死亡日期", "type": "date", "expected": "2026-10-08"},
                {"id": "phone", "label": "联系电话", "type": "phone", "expected": "13857512345"},
                {
                    "id": "relation",
                    "label": "关系",
                    "type": "choice",
                    "options": ["配偶", "子女"],
                    "expected": "子女",
                },
            ],
        },
    },
    "check": [
        {
            "type": "single",
            "dimension": "业务知识",
            "difficulty": 1,
            "text": "谁可以申领？",
            "options": [
                {"text": "继承人", "correct": True},
                {"text": "邻居", "correct": False},
                {"text": "村医", "correct": False},
            ],
            "explanation": "受益人或继承人。",
        },
        {
            "type": "truefalse",
            "dimension": "业务知识",
            "difficulty": 2,
            "text": "丧葬补助金全国统一。",
            "answer": False,
            "explanation": "各地不同。",
        },
        {
            "type": "multiple",
            "dimension": "服务规范",
            "difficulty": 2,
            "text": "应当？",
            "options": [
                {"text": "一次性告知", "correct": True},
                {"text": "耐心解释", "correct": True},
                {"text": "让其多跑", "correct": False},
                {"text": "推诿", "correct": False},
            ],
            "explanation": "规范服务。",
        },
        {
            "type": "truefalse",
            "dimension": "服务规范",
            "difficulty": 1,
            "text": "可以让家属改天再来补材料。",
            "answer": False,
            "explanation": "应一次性告知。",
        },
        {
            "type": "single",
            "dimension": "应急处置",
            "difficulty": 3,
            "text": "系统故障时？",
            "options": [
                {"text": "登记后补录", "correct": True},
                {"text": "让回家", "correct": False},
                {"text": "不管", "correct": False},
            ],
            "explanation": "先登记后补录。",
        },
    ],
}


def valid_module(slug: str) -> dict:
    module = {"slug": slug, "item": slug, **copy.deepcopy(_MODULE)}
    # Stems of their own: the item-quality lint reports the same stem in two files.
    for q in module["check"]:
        q["text"] = f"（{slug}）{q['text']}"
    return module


def valid_bank(slug: str, item: str | None = None) -> dict:
    """A small valid question bank (question_banks/README.md) with one question of each type."""
    bank = {
        "slug": slug,
        "title": "测试题库",
        "category": "登记申领/测试",
        "questions": [
            {
                "id": "q01",
                "type": "multichoice",
                "dimension": "业务知识",
                "difficulty": 1,
                "text": "谁可以申领？",
                "answers": [
                    {"text": "继承人", "fraction": 100},
                    {"text": "邻居", "fraction": 0},
                    {"text": "村医", "fraction": 0},
                ],
            },
            {
                "id": "q02",
                "type": "truefalse",
                "dimension": "服务规范",
                "difficulty": 1,
                "text": "可以让家属改天再来补材料。",
                "answer": False,
            },
            {
                "id": "q03",
                "type": "multichoice",
                "single": False,
                "dimension": "应急处置",
                "difficulty": 2,
                "text": "系统故障时应当？",
                "answers": [
                    {"text": "登记信息", "fraction": 50},
                    {"text": "恢复后补录", "fraction": 50},
                    {"text": "让其回家", "fraction": -50},
                    {"text": "不予理睬", "fraction": -50},
                ],
            },
            {
                "id": "q04",
                "type": "shortanswer",
                "dimension": "业务知识",
                "difficulty": 2,
                "text": "养老金从死亡的哪个月起停发？",
                "answers": [{"text": "次月", "fraction": 100}],
            },
            {
                "id": "q05",
                "type": "numerical",
                "dimension": "业务知识",
                "difficulty": 2,
                "text": "身份证法定制发时限是多少日？",
                "answers": [{"value": 60, "tolerance": 0, "fraction": 100}],
            },
            {
                "id": "q06",
                "type": "matching",
                "dimension": "业务知识",
                "difficulty": 3,
                "text": "连线",
                "pairs": [["残疾人证", "残联"], ["身份证", "派出所"], ["低保", "民政"]],
            },
            {
                "id": "q07",
                "type": "ordering",
                "dimension": "服务规范",
                "difficulty": 2,
                "text": "排序",
                "order": ["受理", "初审", "复核"],
            },
            {
                "id": "q08",
                "type": "essay",
                "dimension": "应急处置",
                "difficulty": 3,
                "text": "村民情绪激动时你怎么办？",
                "grader_info": "先安抚情绪，再一次性告知。",
            },
        ],
    }
    if item:
        bank["item"] = item
    return bank
