"""Essay (marked by an expert) and description (text shown in an exam, never marked)."""

from __future__ import annotations

from academy.questions.types.base import QuestionType, ResponseError, is_text, question_type

ESSAY_TEXT = (
    "先请双方到一边坐下，倒杯水，稳定情绪；保持中立，不替任何一方表态；说明按规定由指定受益人"
    "或法定继承人办理，需要关系证明；协商不成引导村调解或公证；不涉及争议的事项先一次提交办理，"
    "在台账上记录并跟踪，把结果告诉家属。"
)


@question_type("essay")
class Essay(QuestionType):
    label = "简答题"
    long_label = "简答题（人工评分）"
    help = "自由作答，由县级专家按评分要点人工评分。"
    auto_marked = False
    bank_keys = frozenset({"grader_info"})
    gift_order = 10
    xml_names = ("essay",)
    excel_labels = {"简答": {}}

    @classmethod
    def check(cls, data, response):
        if not isinstance(response, str) or len(response) > 5000:
            raise ResponseError("简答不超过 5000 字")
        return response

    @classmethod
    def grade(cls, data, response):
        return None  # an expert marks it

    @classmethod
    def demo_fields(cls, data, name, right, rng):
        return {name: [ESSAY_TEXT if right else "先劝他们别吵，再让他们自己商量。"]}

    @classmethod
    def bank_rules(cls, q, answers=True):
        if not q.grader_info.strip():
            return [("grader_info", "简答（人工评分）题需要写明评分要点")]
        return []

    @classmethod
    def summary(cls, q):
        return "人工评分"

    @classmethod
    def from_editor(cls, form, q, problems):
        q.grader_info = (form.grader_info.data or "").strip()

    @classmethod
    def editor_data(cls, q):
        return {"grader_info": q.grader_info}

    @classmethod
    def bank_read(cls, raw, q, ctx):
        if is_text(raw.get("grader_info")):
            q.grader_info = raw["grader_info"].strip()

    @classmethod
    def bank_dump(cls, q):
        return {"grader_info": q.grader_info} if q.grader_info else {}

    @classmethod
    def gift_claims(cls, answers):
        return answers == ""

    @classmethod
    def gift_block(cls, q, w):
        return "{" + w.general(q) + "}"

    @classmethod
    def xml_read(cls, el, q, x):
        q.grader_info = x.text(el, "graderinfo")

    @classmethod
    def xml_body(cls, q, w):
        fmt = q.text_format
        out = "    <responseformat>editor</responseformat>\n"
        out += "    <responserequired>1</responserequired>\n"
        out += "    <responsefieldlines>10</responsefieldlines>\n"
        out += (
            "    <attachments>0</attachments>\n    <attachmentsrequired>0</attachmentsrequired>\n"
        )
        out += w.field("graderinfo", q.grader_info, fmt)
        return out + w.field("responsetemplate", "", fmt)

    @classmethod
    def excel_read(cls, row, q, letters):
        q.grader_info = row.get(row.GRADER)


@question_type("description")
class Description(QuestionType):
    label = "说明"
    long_label = "说明（不计分）"
    candidate_label = "阅读材料"
    help = "一段说明文字，不计分（如材料、情景介绍）。"
    scored = False
    gift_order = 0
    xml_names = ("description",)
    excel_labels = {"说明": {}}

    @classmethod
    def check(cls, data, response):
        return None

    @classmethod
    def from_form(cls, data, form, name):
        return None

    @classmethod
    def grade(cls, data, response):
        return None

    @classmethod
    def summary(cls, q):
        return "不计分"

    @classmethod
    def bank_read(cls, raw, q, ctx):
        pass

    @classmethod
    def bank_dump(cls, q):
        return {}

    @classmethod
    def gift_claims(cls, answers):
        return answers is None

    @classmethod
    def gift_unsupported(cls, q):
        return ["GIFT 无法表示说明的总体反馈"] if q.general_feedback else []

    @classmethod
    def xml_read(cls, el, q, x):
        pass

    @classmethod
    def xml_body(cls, q, w):
        return ""
