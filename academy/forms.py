"""Shared form helpers: Chinese validator messages and field factories."""

from __future__ import annotations

from datetime import date, datetime

import wtforms
from wtforms import SelectChoice, validators
from wtforms.widgets import CheckboxInput, ListWidget

from academy.roster import rules as roster_rules

# Every date (and time) a form accepts lies in these years: a year like 0001 or 9999 is a
# typing slip, and would overflow the arithmetic on it (Beijing ↔ UTC, +days).
MIN_YEAR, MAX_YEAR = 1900, 2100
YEAR_MESSAGE = f"日期应在 {MIN_YEAR} 年到 {MAX_YEAR} 年之间，请检查年份。"


def sane_date(value: date | datetime | None) -> bool:
    return value is None or MIN_YEAR <= value.year <= MAX_YEAR


class BoundedDates:
    """Mixin for WTForms date and datetime fields: a date outside MIN_YEAR..MAX_YEAR is a
    field error (the field's data is None), never a value that reaches the services."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if not sane_date(self.data):
            self.data = None
            raise ValueError(YEAR_MESSAGE)


class DateField(BoundedDates, wtforms.DateField):
    pass


class DateTimeLocalField(BoundedDates, wtforms.DateTimeLocalField):
    pass


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


def _as_choices(value):
    """Turn ``(value, label)`` pairs into WTForms SelectChoice objects (3.3+ style)."""
    if value is None or callable(value) or isinstance(value, dict):
        return value
    return [c if isinstance(c, SelectChoice) else SelectChoice(*c) for c in value]


def _pair_choices(base):
    class Field(base):
        def __init__(self, *args, choices=None, **kwargs):
            kwargs.setdefault("invalid_choice_message", "请从列表中选择一项。")
            kwargs.setdefault("invalid_value_message", "请从列表中选择一项。")
            super().__init__(*args, choices=_as_choices(choices), **kwargs)

        choices = property(
            base.choices.fget, lambda self, value: base.choices.fset(self, _as_choices(value))
        )

    Field.__name__ = base.__name__
    return Field


SelectField = _pair_choices(wtforms.SelectField)
RadioField = _pair_choices(wtforms.RadioField)


class MultiCheckboxField(_pair_choices(wtforms.SelectMultipleField)):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def service_call(form, fn, *args, **kwargs):
    """Run a use-case for a validated form: ``(True, result)``, or ``(False, None)`` after
    showing its DomainError on the matching field (or as a flash message)."""
    from flask import flash

    from academy.errors_domain import DomainError

    try:
        return True, fn(*args, **kwargs)
    except DomainError as err:
        if not apply_domain_error(form, err):
            flash(err.message, "error")
        return False, None
