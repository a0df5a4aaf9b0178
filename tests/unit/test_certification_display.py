"""Masked names, typed-in certificate codes and Chinese dates for certificate pages."""

from datetime import date

import pytest

from academy.certification import display
from academy.certification.models import CertSource
from academy.certification.rules import CertStatus
from academy.certification.services import CODE_ALPHABET, new_code


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("李晓芬", "李*芬"),
        ("王芳", "王*"),
        ("欧阳晓明", "欧**明"),
        ("司马相如子", "司***子"),
        ("李", "*"),
        ("", ""),
        (None, ""),
        ("  王 芳 ", "王*"),  # spaces typed to line up short names must not unmask them
        ("王  晓 芬", "王*芬"),
        ("阿依古丽·买买提", "阿***·**提"),
        ("Li Na", "L* *a"),
        ("Wang", "W**g"),
        ("·", "·"),
    ],
)
def test_mask_name(name, masked):
    assert display.mask_name(name) == masked


def test_mask_name_never_reveals_the_middle_of_a_name():
    for name in ("张三丰", "诸葛孔明", "爱新觉罗·溥仪"):
        masked = display.mask_name(name)
        assert len(masked) == len(name)
        assert not set(name[1:-1]) - {"·"} & set(masked)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("XC2345ABCDEF", "XC2345ABCDEF"),
        ("  xc2345abcdef ", "XC2345ABCDEF"),
        ("XC-2345-ABCD-EF", "XC2345ABCDEF"),
        ("xc 2345 abcd ef", "XC2345ABCDEF"),
        ("ＸＣ２３４５ＡＢＣＤＥＦ", "XC2345ABCDEF"),  # full-width, as typed by a Chinese IME
        ("XC—2345－ABCD_EF", "XC2345ABCDEF"),
        ("XC\u30002345\tABCDEF", "XC2345ABCDEF"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_code(typed, code):
    assert display.normalise_code(typed) == code


def test_normalise_is_idempotent_and_accepts_every_issued_code():
    for _ in range(200):
        code = new_code()
        assert display.normalise_code(code) == code
        assert display.normalise_code(code.lower()) == code
        assert display.looks_like_code(code)
    assert set(CODE_ALPHABET) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@pytest.mark.parametrize("code", ["", "XC", "<SCRIPT>", "A" * 25, "XC2345ABCDE!", "证书编号"])
def test_looks_like_code_rejects_what_cannot_be_a_code(code):
    assert not display.looks_like_code(code)


def test_cn_date_and_issuing_body():
    assert display.cn_date(date(2026, 3, 1)) == "2026年3月1日"
    assert display.cn_date(date(2027, 12, 31)) == "2027年12月31日"
    assert display.cn_date(None) == ""
    assert display.issuing_body("新昌县") == "新昌县政务服务办公室"
    assert (
        display.scheme_title("证明证照类代办资格（初级）", "初级") == "证明证照类代办资格（初级）"
    )
    assert display.scheme_title("养老保险参保登记", "中级") == "养老保险参保登记（中级）"


def test_every_status_and_source_has_a_presentation():
    assert all(display.status_class(s).startswith("tag") for s in CertStatus)
    assert all(display.source_phrase(s).startswith("经") for s in CertSource)
    assert display.void_stamp(CertStatus.REVOKED) == "已撤销"
    assert display.void_stamp(CertStatus.EXPIRED) == "已过期"
    assert display.void_stamp(CertStatus.VALID) is None
    assert display.void_stamp(CertStatus.EXPIRING) is None


@pytest.mark.parametrize(
    ("holder", "name"),
    [
        ("张东", "XC1_张东.pdf"),
        ("阿依古丽·买买提", "XC1_阿依古丽·买买提.pdf"),
        ("Li  Na", "XC1_Li Na.pdf"),
        ("王/迁", "XC1_王迁.pdf"),  # no folder inside the ZIP
        ("..\\..\\etc", "XC1_etc.pdf"),
        ('李:*?"<>|芳', "XC1_李芳.pdf"),  # characters Windows refuses
        ("  ", "XC1_持证人.pdf"),
        (None, "XC1_持证人.pdf"),
        ("欧" * 60, "XC1_" + "欧" * 40 + ".pdf"),
    ],
)
def test_document_filename_is_safe_and_keeps_chinese(holder, name):
    assert display.document_filename("XC1", holder, "pdf") == name
