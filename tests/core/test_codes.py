"""Where codes come from: validation, the keyring (never an unchosen file), code_command,
the used-step memory, and the order of the sources. No STS here: see test_sessions."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import keyring
import keyring.core
import pyotp
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from mfa_tui.clock import FrozenClock
from mfa_tui.core.asking import PromptAsker, StepWatcher
from mfa_tui.core.codes import (
    KEYRING_SERVICE,
    TOTP_STEP,
    Cancelled,
    Code,
    CodePrompt,
    CodeSources,
    SeedStore,
    UsedCodes,
    normalize_code,
    normalize_seed,
    resolve_keyring,
    run_code_command,
    totp_at,
)
from mfa_tui.errors import CodeRequest, KeyringError, MfaTuiError, NeedsCodeError, UsageError
from tests.memkeyring import MemoryKeyring
from tests.processes import running

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SERIAL = "arn:aws:iam::123456789012:mfa/phone"
REQUEST = CodeRequest("my-role", SERIAL, "me")


@pytest.fixture
def used(tmp_path: Path) -> UsedCodes:
    return UsedCodes(tmp_path / "state" / "codes.json")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()  # 2026-01-01 12:00:00 UTC: step 59_215_680, at its start


def sources(
    used: UsedCodes,
    clock: FrozenClock,
    ring: MemoryKeyring | None = None,
    command: str | None = None,
    prompt: CodePrompt | None = None,
    sleeps: list[float] | None = None,
) -> CodeSources:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        clock.advance(seconds)

    return CodeSources(
        seeds=SeedStore(ring or MemoryKeyring()),
        used=used,
        command=command,
        command_timeout=5,
        asker=PromptAsker(prompt) if prompt is not None else None,
        clock_time=clock.time,
        sleep=sleep,
    )


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["123456", "123 456", " 1 2 3 4 5 6 ", "000000"])
def test_six_digits_spaces_ignored(text: str) -> None:
    assert normalize_code(text) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["12345", "1234567", "12a456", "", "١٢٣٤٥٦", "12-456"])
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="6 digits"):
        normalize_code(text)


def test_seeds_are_normalised() -> None:
    assert normalize_seed("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp") == SEED
    assert normalize_seed(SEED + "====\n") == SEED
    assert normalize_seed("JBSW-Y3DP-EHPK-3PXP-JBSW-Y3DP") == "JBSWY3DPEHPK3PXPJBSWY3DP"
    uri = f"otpauth://totp/Amazon%20Web%20Services:me@123?secret={SEED.lower()}&issuer=AWS"
    assert normalize_seed(uri) == SEED


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("JBSWY3DPEHPK3PX", "too short (15 characters)"),
        # 80 bits: valid base32, but too short for any TOTP library to make codes from.
        ("JBSWY3DPEHPK3PXP", "too short (16 characters)"),
        ("JBSWY3DPEHPK3PX1", "not base32"),
        ("not a seed at all!", "not base32"),
        ("", "not base32"),
        ("otpauth://hotp/x?secret=" + SEED, "time-based"),
        ("otpauth://totp/x?secret=" + SEED + "&digits=8", "6 digits"),
        ("otpauth://totp/x?secret=" + SEED + "&period=60", "30-second"),
        ("otpauth://totp/x?issuer=AWS", "no secret="),
    ],
)
def test_bad_seeds_are_refused_without_repeating_them(text: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        normalize_seed(text)
    assert words in info.value.message
    if text:
        assert text not in info.value.message and SEED not in info.value.message


def test_totp_matches_an_authenticator_app() -> None:
    now = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
    code, step = totp_at(SEED, now + 29.9)
    assert step == int(now // 30)
    assert code == pyotp.TOTP(SEED).at(now)
    assert totp_at(SEED, now + 30)[0] == pyotp.TOTP(SEED).at(now + 30)


# --- the keyring -----------------------------------------------------------------------


def test_a_given_backend_is_used_as_is() -> None:
    ring = MemoryKeyring()
    store = SeedStore(ring)
    assert store.set(SERIAL, SEED.lower()) == SEED
    assert ring.store[(KEYRING_SERVICE, SERIAL)] == SEED
    assert store.get(SERIAL) == SEED and store.has(SERIAL)
    assert store.remove(SERIAL) and not store.remove(SERIAL)
    assert store.get(SERIAL) is None


def test_an_unchosen_plain_text_file_is_never_used(
    os_keyring: None, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What keyring picks by itself when keyrings.alt is installed and no OS keyring runs.
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    keyring.set_keyring(PlaintextKeyring())
    with pytest.raises(KeyringError) as info:
        SeedStore().set(SERIAL, SEED)
    for words in ("PlaintextKeyring", "uses only when you choose it", "PYTHON_KEYRING_BACKEND"):
        assert words in info.value.message
    assert not list(isolated_env.rglob("keyring_pass.cfg")), "nothing was written"
    # Looking a seed up just finds none: a code can still come from elsewhere.
    assert SeedStore().lookup(SERIAL) is None and not SeedStore().has(SERIAL)


def test_a_file_backend_chosen_by_the_person_is_used(
    os_keyring: None, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    keyring.set_keyring(PlaintextKeyring())
    SeedStore().set(SERIAL, SEED)
    assert SeedStore().get(SERIAL) == SEED


def test_keyringrc_cfg_counts_as_a_choice(
    os_keyring: None, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyring.util import platform_

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    config = Path(platform_.config_root())
    config.mkdir(parents=True, exist_ok=True)
    (config / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=keyrings.alt.file.PlaintextKeyring\n"
    )
    keyring.set_keyring(PlaintextKeyring())
    assert isinstance(resolve_keyring(), PlaintextKeyring)


def test_no_backend_at_all_names_the_opt_in(
    os_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(KeyringError) as info:
        resolve_keyring()
    assert "PYTHON_KEYRING_BACKEND" in info.value.message
    assert "keyrings.alt" in info.value.message


@pytest.mark.parametrize(
    ("members", "picked"),
    [([], None), ([PlaintextKeyring], None), ([PlaintextKeyring, MemoryKeyring], MemoryKeyring)],
)
def test_a_chain_of_backends_yields_its_first_real_one(
    os_keyring: None,
    monkeypatch: pytest.MonkeyPatch,
    members: list[type[KeyringBackend]],
    picked: type[KeyringBackend] | None,
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    instances = [member() for member in members]

    class Chain(ChainerBackend):
        backends = instances

    keyring.set_keyring(Chain())  # type: ignore[no-untyped-call]
    if picked is None:
        with pytest.raises(KeyringError, match="PYTHON_KEYRING_BACKEND"):
            resolve_keyring()
    else:
        assert type(resolve_keyring()) is picked


def test_a_backend_that_drops_the_seed_is_caught() -> None:
    with pytest.raises(KeyringError, match="did not keep the seed"):
        SeedStore(null.Keyring()).set(SERIAL, SEED)  # type: ignore[no-untyped-call]


def test_a_backend_that_raises_is_a_keyring_error() -> None:
    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("wallet locked")

    with pytest.raises(KeyringError, match="refused to read"):
        SeedStore(Locked()).get(SERIAL)
    assert SeedStore(Locked()).lookup(SERIAL) is None


# --- code_command -------------------------------------------------------------------


def test_code_command_runs_in_a_shell_with_the_profile_in_its_env() -> None:
    command = 'test "$MFA_TUI_MFA_SERIAL" = "' + SERIAL + '" && echo "aws  123456" | cut -c6-'
    assert run_code_command(command, 5, profile="p", serial=SERIAL) == "123456"


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("echo no code here", "printed no 6-digit code"),
        ("echo 123456 654321", "more than one"),
        ("echo 1234567", "printed no 6-digit code"),
        ("echo 'locked: touch your key' >&2; exit 3", "exit code 3: locked: touch your key"),
        ("/nonexistent/otp-tool", "exit code 127"),
    ],
)
def test_code_command_failures_are_clear(command: str, words: str) -> None:
    with pytest.raises(MfaTuiError, match=words):
        run_code_command(command, 5, profile="p")


def test_code_command_output_is_not_repeated_in_errors() -> None:
    with pytest.raises(MfaTuiError) as info:
        run_code_command("echo secret-ish-output 11 22", 5, profile="p")
    assert "secret-ish-output" not in info.value.message


def test_a_hanging_code_command_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = f"sleep 30 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(MfaTuiError, match=r"did not finish in 0\.5s"):
        run_code_command(command, 0.5, profile="p")
    assert time.monotonic() - started < 3
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(child), "the shell's child was killed too"


def test_a_code_command_stops_when_cancelled() -> None:
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_code_command("sleep 30", 20, profile="p", cancel=cancel)
    assert time.monotonic() - started < 3


# --- the used-step memory ------------------------------------------------------------


def test_a_step_is_claimed_once(used: UsedCodes) -> None:
    assert used.claim_step(SERIAL, 100)
    assert not used.claim_step(SERIAL, 100)
    assert not used.claim_step(SERIAL, 99)
    assert used.claim_step(SERIAL, 101)
    assert used.claim_step("another-device", 100)
    assert used.last_step(SERIAL) == 101


def test_threads_never_claim_the_same_step(used: UsedCodes) -> None:
    wins: list[bool] = []
    barrier = threading.Barrier(12)

    def claim() -> None:
        barrier.wait()
        wins.append(used.claim_step(SERIAL, 500))

    threads = [threading.Thread(target=claim) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_processes_never_claim_the_same_step(used: UsedCodes) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom mfa_tui.core.codes import UsedCodes\n"
        f"print(UsedCodes(Path({str(used.path)!r})).claim_step({SERIAL!r}, 700))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
        )
        for _ in range(6)
    ]
    answers = [p.communicate(timeout=30)[0].strip() for p in procs]
    assert sorted(answers) == ["False"] * 5 + ["True"]


def test_the_state_file_is_private_and_holds_no_code(used: UsedCodes) -> None:
    used.mark(SERIAL, step=42, code="864209", now=1000.0)
    assert oct(used.path.stat().st_mode & 0o777) == "0o600"
    assert oct(used.path.parent.stat().st_mode & 0o777) == "0o700"
    assert "864209" not in used.path.read_text()
    assert used.was_spent(SERIAL, "864209", 1050.0)
    assert not used.was_spent(SERIAL, "864209", 1000.0 + 121)
    assert not used.was_spent("other", "864209", 1050.0)
    assert used.last_step(SERIAL) == 42


def test_a_damaged_state_file_is_survived(used: UsedCodes) -> None:
    used.path.parent.mkdir(parents=True)
    used.path.write_text("{not json")
    assert used.last_step(SERIAL) == -1
    assert used.claim_step(SERIAL, 1)
    assert used.last_step(SERIAL) == 1


# --- choosing a code ---------------------------------------------------------------


def test_the_sources_are_tried_in_order(used: UsedCodes, clock: FrozenClock) -> None:
    asked: list[CodeRequest] = []

    def prompt(request: CodeRequest) -> str:
        asked.append(request)
        return "111 222"

    ring = MemoryKeyring()
    everything = sources(used, clock, ring, command="echo 333444", prompt=prompt)
    assert everything.obtain(REQUEST, "555 666") == Code("555666", "explicit")
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    seeded = everything.obtain(REQUEST, None)
    assert seeded.source == "totp" and seeded.value == pyotp.TOTP(SEED).at(clock.time())
    del ring.store[(KEYRING_SERVICE, SERIAL)]
    assert everything.obtain(REQUEST, None) == Code("333444", "command")
    prompted = sources(used, clock, ring, prompt=prompt)
    assert prompted.obtain(REQUEST, None) == Code("111222", "prompt")
    assert asked == [REQUEST]
    with pytest.raises(NeedsCodeError) as info:
        sources(used, clock, ring).obtain(REQUEST, None)
    assert "mfa-tui totp set me" in info.value.message and SERIAL in info.value.message


def test_silent_sources_need_no_person(used: UsedCodes, clock: FrozenClock) -> None:
    ring = MemoryKeyring()
    assert sources(used, clock, ring).silent_source(SERIAL) is None
    assert sources(used, clock, ring, command="echo 1").silent_source(SERIAL) == "command"
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    assert sources(used, clock, ring).silent_source(SERIAL) == "totp"


def test_a_soft_token_waits_for_a_step_nobody_used(used: UsedCodes, clock: FrozenClock) -> None:
    ring = MemoryKeyring()
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    sleeps: list[float] = []
    token = sources(used, clock, ring, sleeps=sleeps)
    clock.advance(10)  # 10 s into a step
    first = token.from_seed(SERIAL)
    assert first is not None and sleeps == []
    second = token.from_seed(SERIAL)
    assert second is not None and second.step == (first.step or 0) + 1
    assert sleeps and 20 <= sleeps[0] <= 20.1, "waited only for the rest of the step"
    assert second.value == pyotp.TOTP(SEED).at(clock.time())
    # A step used "three steps ahead" is one AWS never saw (a clock ahead of AWS's made
    # it): it is ignored, and the wait is for the next step only.
    sleeps.clear()
    after = token.from_seed(SERIAL, after_step=(second.step or 0) + 3)
    assert after is not None and after.step == (second.step or 0) + 1
    assert sleeps and max(sleeps) <= TOTP_STEP + 0.5


def test_a_used_step_far_ahead_of_aws_is_discarded_not_waited_for(
    used: UsedCodes, clock: FrozenClock
) -> None:
    # What a refresh on a clock 17 minutes fast left behind, once the clock was fixed:
    # waiting for that step would hang every refresh that needs a code for 17 minutes.
    ring = MemoryKeyring()
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    now_step = int(clock.time() // TOTP_STEP)
    assert used.claim_step(SERIAL, now_step + 34)
    sleeps: list[float] = []
    code = sources(used, clock, ring, sleeps=sleeps).from_seed(SERIAL)
    assert code is not None and code.step == now_step and sleeps == []
    assert used.last_step(SERIAL) == now_step, "the mark from the future is gone"
    # One step ahead is kept: AWS takes the next step's code (clocks drift a little).
    assert used.claim_step(SERIAL, now_step + 1, now_step=now_step)
    assert not used.claim_step(SERIAL, now_step + 1, now_step=now_step)


def test_a_code_made_on_a_clock_ahead_of_aws_leaves_no_mark_ahead(
    used: UsedCodes, clock: FrozenClock
) -> None:
    ring = MemoryKeyring()
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    sleeps: list[float] = []
    token = sources(used, clock, ring, sleeps=sleeps)
    # A fresh process on a clock 20 minutes fast knows nothing of AWS's time yet.
    first = token.from_seed(SERIAL)
    assert first is not None and first.step == int(clock.time() // TOTP_STEP)
    # AWS refused it, and its answer's Date said our clock is 1,200 s ahead.
    token.skew = lambda: 1200.0
    token.mark_used(REQUEST, first)
    aws_step = int((clock.time() - 1200) // TOTP_STEP)
    assert used.last_step(SERIAL) <= aws_step + 1, "never a step ahead of AWS's time"
    retry = token.from_seed(SERIAL, after_step=first.step)
    assert retry is not None and retry.step == aws_step
    assert retry.value == pyotp.TOTP(SEED).at(aws_step * TOTP_STEP)
    assert all(s <= TOTP_STEP + 0.5 for s in sleeps)
    token.mark_used(REQUEST, retry)
    assert used.last_step(SERIAL) == aws_step


def test_the_wait_for_the_next_step_is_announced(used: UsedCodes, clock: FrozenClock) -> None:
    ring = MemoryKeyring()
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    said: list[tuple[float, str]] = []
    token = sources(used, clock, ring)
    token.asker = StepWatcher(lambda until, text: said.append((until, text)))
    clock.advance(12 - clock.time() % TOTP_STEP)  # 12 s into a step
    assert token.from_seed(SERIAL) is not None and said == []
    start = clock.time()
    assert token.from_seed(SERIAL) is not None
    assert [text for _, text in said] == [
        f"waiting 18 s for the next code from {SERIAL} (AWS takes each code once, and this "
        "one was used)"
    ]
    assert said[0][0] == pytest.approx(start + 18.05)  # until the next step begins


def test_waiting_for_a_step_can_be_cancelled(used: UsedCodes, clock: FrozenClock) -> None:
    ring = MemoryKeyring()
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    token = sources(used, clock, ring)
    assert token.from_seed(SERIAL) is not None
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        token.from_seed(SERIAL, cancel=cancel)


def test_a_clock_aws_says_is_off_makes_codes_for_aws_time(
    used: UsedCodes, clock: FrozenClock
) -> None:
    ring = MemoryKeyring()
    ring.store[(KEYRING_SERVICE, SERIAL)] = SEED
    token = sources(used, clock, ring)
    token.skew = lambda: 95.0  # we are 95 s ahead of AWS
    code = token.from_seed(SERIAL)
    assert code is not None and code.value == pyotp.TOTP(SEED).at(clock.time() - 95)
    token.skew = lambda: 3.0  # small skews are noise, not corrected
    later = token.from_seed(SERIAL, after_step=None)
    assert later is not None and later.step == int(clock.time() // 30)


def test_a_spent_typed_code_is_refused_before_sending(used: UsedCodes, clock: FrozenClock) -> None:
    token = sources(used, clock)
    code = token.obtain(REQUEST, "864209")
    token.mark_used(REQUEST, code)
    with pytest.raises(UsageError, match="already used"):
        token.obtain(REQUEST, "864 209")
    clock.advance(121)
    assert token.obtain(REQUEST, "864209").value == "864209"


def test_a_code_command_repeating_a_spent_code_is_run_again_next_step(
    used: UsedCodes, clock: FrozenClock, tmp_path: Path
) -> None:
    # A hardware token shows one code per 30 s: the second refresh within a step waits.
    counter = tmp_path / "n"
    counter.write_text("0")
    command = (
        f"n=$(cat {counter}); echo $((n+1)) > {counter}; "
        'if [ "$n" -lt 2 ]; then echo 111111; else echo 222222; fi'
    )
    sleeps: list[float] = []
    token = sources(used, clock, command=command, sleeps=sleeps)
    first = token.obtain(REQUEST, None)
    token.mark_used(REQUEST, first)
    second = token.obtain(REQUEST, None)
    assert (first.value, second.value) == ("111111", "222222")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 30.5
