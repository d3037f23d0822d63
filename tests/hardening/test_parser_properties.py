"""Property tests (hypothesis) of the parsers of ids, cursors and times in shared/: whatever
the input, a parser answers a value or its one refusal, never another exception, and reads
back what its formatter wrote."""

from __future__ import annotations

import contextlib
import string
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError
from multidict import CIMultiDict

from posts_service.cursors import cursor_of, position_of
from shared.contracts.revocation import make_cursor, page_from_json, parse_cursor
from shared.settings import Env, InternalKeys
from shared.web import internal_auth
from shared.web.identity import current_user
from shared.web.schemas import MAX_BIGINT, StrictInteger, decimal, path_id
from shared.web.timefmt import iso

ASCII_DIGITS = set(string.digits)
# Text that looks numeric to Python's int() without being ASCII decimal: other scripts'
# digits, superscripts, spaces, signs, underscores, newlines.
NUMBERISH = st.text(
    alphabet=st.sampled_from(
        "0123456789-+_ \n\t.e\u00b2\u0661\u0662\u0969\u0a6a\u0665\u0e56\uff17\uff18"
    ),
    min_size=0,
    max_size=24,
)
ANY_TEXT = st.one_of(st.text(max_size=40), NUMBERISH)


def is_ascii_decimal(raw: str) -> bool:
    digits = raw[1:] if raw.startswith("-") else raw
    return 0 < len(digits) <= 20 and set(digits) <= ASCII_DIGITS


@given(ANY_TEXT)
def test_decimal_reads_ascii_digits_and_nothing_else(raw: str) -> None:
    value = decimal(raw)
    if is_ascii_decimal(raw):
        assert value == int(raw)
    else:
        assert value is None


@given(st.integers(min_value=-(10**19), max_value=10**20 - 1))
def test_decimal_reads_what_str_writes(number: int) -> None:
    assert decimal(str(number)) == number


@given(ANY_TEXT)
def test_a_path_id_is_a_positive_bigint_or_none(raw: str) -> None:
    value = path_id(raw)
    assert value is None or (0 < value <= MAX_BIGINT and str(value) == raw.lstrip("0"))


@given(st.integers(min_value=1, max_value=MAX_BIGINT))
def test_every_bigint_id_reads_back(number: int) -> None:
    assert path_id(str(number)) == number


class Numbers(Schema):
    n = StrictInteger()
    json_n = StrictInteger(json_only=True)


ANY_VALUE = st.one_of(ANY_TEXT, st.integers(), st.booleans(), st.floats(), st.none())


def accepts(field: str, value: object) -> bool:
    try:
        loaded = Numbers().load({field: value})
    except ValidationError:
        return False
    assert isinstance(loaded[field], int)
    return True


@given(ANY_VALUE)
def test_a_strict_integer_loads_integers_and_ascii_digits_only(value: object) -> None:
    expected = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and is_ascii_decimal(value)
    )
    assert accepts("n", value) == expected, value


@given(ANY_VALUE)
def test_a_json_only_strict_integer_loads_json_integers_only(value: object) -> None:
    expected = isinstance(value, int) and not isinstance(value, bool)
    assert accepts("json_n", value) == expected, value


@given(st.integers(min_value=0, max_value=10**17 - 1), st.uuids())
def test_a_revocation_cursor_reads_back(micros: int, session: object) -> None:
    assert parse_cursor(make_cursor(micros, str(session))) == (micros, str(session))


@given(ANY_TEXT)
def test_a_revocation_cursor_is_parsed_or_refused_with_value_error(raw: str) -> None:
    try:
        micros, _session = parse_cursor(raw)
    except ValueError:
        return
    assert raw.split(".", 1)[0] == str(micros) or raw.startswith(("0", "-0"))


@given(
    st.recursive(
        st.none() | st.text() | st.integers() | st.floats(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=8,
    )
)
def test_a_revocation_page_is_read_or_refused(body: object) -> None:
    # Anything else (AttributeError, say) fails the test.
    with contextlib.suppress(KeyError, TypeError, ValueError):
        page_from_json(body)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(5000, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=MAX_BIGINT),
)
def test_an_article_cursor_reads_back_to_the_microsecond(moment: datetime, article: int) -> None:
    assert position_of(cursor_of(moment, article)) == (moment, article)


@given(ANY_TEXT)
def test_an_article_cursor_is_a_position_or_none(raw: str) -> None:
    position = position_of(raw)
    if position is not None:
        micros, article = raw.split(".")
        assert set(micros + article) <= ASCII_DIGITS
        assert position[1] == int(article)


@given(st.datetimes(timezones=st.sampled_from([UTC, None])))
def test_times_are_written_as_api_md_says_and_read_back_to_the_millisecond(
    moment: datetime,
) -> None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    written = iso(moment)
    assert len(written) == 24 and written.endswith("Z") and written[10] == "T"
    back = datetime.fromisoformat(written.replace("Z", "+00:00"))
    assert timedelta(0) <= moment - back < timedelta(milliseconds=1)


def request_with(headers: dict[str, str]) -> web.Request:
    return make_mocked_request("GET", "/api/user", headers=CIMultiDict(headers))


@given(ANY_TEXT, st.text(max_size=20))
def test_the_caller_is_an_ascii_id_or_nobody(raw_id: str, name: str) -> None:
    printable = raw_id.isprintable() and name.isprintable()
    if not printable:
        return  # not a header value
    caller = current_user(request_with({"X-User-Id": raw_id, "X-Username": name}))
    if caller is None:
        assert not raw_id or decimal(raw_id) is None
    else:
        assert caller.id == decimal(raw_id)


KEYS = InternalKeys((b"k" * 40,))
HEADER_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "._-:", max_size=30)


@given(
    st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    st.text(alphabet=string.ascii_letters + string.digits + "/-_%.?=&", min_size=1, max_size=40),
    HEADER_TEXT,
    HEADER_TEXT,
    st.integers(min_value=-internal_auth.MAX_AGE, max_value=internal_auth.MAX_AGE),
)
def test_a_signature_verifies_for_its_request_within_its_time(
    method: str, path: str, user: str, name: str, age: int
) -> None:
    identity = {"X-User-Id": user, "X-Username": name}
    # A whole second: a signature carries its time in seconds, so one made at a fraction
    # past the second would be older than `age` by that fraction.
    now = float(int(time.time()))
    proof = internal_auth.sign(KEYS, "gateway", method, path, identity, now - age)
    assert internal_auth.verify(KEYS, proof, method, path, CIMultiDict(identity), now) == "gateway"


@given(ANY_TEXT, st.integers(min_value=0, max_value=2**40))
def test_any_other_credential_is_refused_with_refused(value: str, now: int) -> None:
    with pytest.raises(internal_auth.Refused):
        internal_auth.verify(KEYS, value, "GET", "/api/user", CIMultiDict(), float(now))


@given(st.integers(min_value=internal_auth.MAX_AGE + 1, max_value=10**9))
def test_a_stale_or_future_signature_is_refused(age: int) -> None:
    now = time.time()
    for stamp in (now - age, now + age):
        proof = internal_auth.sign(KEYS, "gateway", "GET", "/api/user", {}, stamp)
        with pytest.raises(internal_auth.Refused, match="expired"):
            internal_auth.verify(KEYS, proof, "GET", "/api/user", CIMultiDict(), now)


def test_the_keys_of_a_run_are_one_key() -> None:
    assert InternalKeys.from_env(Env({"INTERNAL_AUTH_KEY": "x" * 32}), "test").keys == (b"x" * 32,)
