"""Shared form helpers: Chinese validator messages and field factories."""

from __future__ import annotations

from wtforms import validators

from academy.roster import rules as roster_rules


def required(message: str = "请填写此项。"):
    return validators.InputRequired(message=message)


def selected(message: str = "请选择一项。"):
    return validators.InputRequired(message=message)


def max_length(n: int):
    return validators.Length(max=n, message=f"不能超过 {n} 个字。")


def length_between(lo: int, hi: int):
    return validators.Length(min=lo, max=hi, message=f"长度需在 {lo} 到 {hi} 个字符之间。")


def optional():
    return validators.Optional()


def phone_number(form, field) -> None:
    if field.data:
        problem = roster_rules.phone_problem(field.data)
        if problem:
            raise validators.ValidationError(problem)


def id_number(form, field) -> None:
    if field.data:
        problem = roster_rules.id_number_problem(field.data)
        if problem:
            raise validators.ValidationError(problem)


def apply_domain_error(form, err) -> bool:
    """Show a service's DomainError on the matching field; False if no field matched."""
    field = getattr(form, err.field, None) if err.field else None
    if field is None:
        return False
    field.errors = [*list(field.errors), err.message]
    return True
