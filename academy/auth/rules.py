"""Pure rules about accounts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 8


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    text = (Path(__file__).parent / "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problems(password: str, username: str = "") -> list[str]:
    """Reasons why a password is unacceptable (empty list if it is fine)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少需要 {MIN_PASSWORD_LENGTH} 位。")
    if password.isdigit() or password.isalpha():
        problems.append("密码需同时包含字母和数字。")
    if username and password.lower() == username.lower():
        problems.append("密码不能与用户名相同。")
    elif password.lower() in common_passwords():
        problems.append("这个密码太常见，很容易被猜到，请换一个。")
    return problems
