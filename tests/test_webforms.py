"""The harness's form handling (launchgate/webforms.py, behind the UAT feedback server): form bodies and CSRF tokens.
The reference console's own pages and forms are tested in reference/tests/test_console.py."""

from __future__ import annotations

import pytest

from launchgate.webforms import CsrfGuard, FormError, parse_form


def test_form_bodies_and_csrf_tokens() -> None:
    with pytest.raises(FormError) as wrong_type:
        parse_form("application/json", b"{}")
    assert wrong_type.value.status == 415
    with pytest.raises(FormError):
        parse_form("application/x-www-form-urlencoded", b"\xff\xfe")
    form = parse_form("application/x-www-form-urlencoded; charset=utf-8", b"a=1&p=x&p=y&empty=")
    assert form.get("a") == "1" and form.all("p") == ["x", "y"] and form.checked("empty")
    guard = CsrfGuard.derived("secret", "console")
    assert guard.valid("cookie", guard.token("cookie"))
    assert not guard.valid("cookie", guard.token("other")) and not guard.valid(None, "x")
    assert CsrfGuard.derived("secret", "uat").token("cookie") != guard.token("cookie")
