"""Pure rules about accounts."""

from __future__ import annotations

MIN_PASSWORD_LENGTH = 8


def password_problems(password: str, username: str = "") -> list[str]:
    """Reasons why a password is unacceptable (empty list if it is fine)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少需要 {MIN_PASSWORD_LENGTH} 位。")
    if password.isdigit() or password.isalpha():
        problems.append("密码需同时包含字母和数字。")
    if username and password.lower() == username.lower():
        problems.append("密码不能与用户名相同。")
    return problems
