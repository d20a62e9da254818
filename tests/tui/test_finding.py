"""Finding and switching at 200+ profiles: keys in order, search, order, layout.

A consultant's files (bench/generate.py: 3 users, 40 accounts × 5 roles, SSO and
process profiles) on the fake engine. Keys are posted the way the terminal driver posts
them (`typed`: all at once, as fast typing arrives while the screen is busy) or pressed
with the pilot; nothing waits for wall time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from bench.generate import account_alias, account_id, consultant, consultant_credentials
from mfa_tui.aws.files import AwsPaths
from mfa_tui.clock import FrozenClock
from mfa_tui.core.picks import Picks
from mfa_tui.settings import load_settings
from mfa_tui.tui.app import MfaTuiApp
from mfa_tui.tui.screens.mfa_prompt import MfaPrompt
from mfa_tui.tui.widgets.detail_pane import DetailPane, whole_words, wrap_value
from tests.tui.fakes import FakeBackend

SLOW = 10_000.0


@pytest.fixture
def consultant_backend(aws_dir: Path, settings_file: Path, clock: FrozenClock) -> FakeBackend:
    config, credentials = aws_dir / "config", aws_dir / "credentials"
    config.write_text(consultant())
    credentials.write_text(consultant_credentials())
    credentials.chmod(0o600)
    fake = FakeBackend(AwsPaths(config, credentials), settings_file, clock)
    fake.aliases = {account_id(a): account_alias(a) for a in range(40)}
    return fake


def make_app(backend: FakeBackend, clock: FrozenClock) -> MfaTuiApp:
    return MfaTuiApp(backend, clock=clock, tick_seconds=SLOW)


async def settle(app: MfaTuiApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers_settled()
        await pilot.pause()


def typed(app: MfaTuiApp, *keys: str) -> None:
    """Keys as the terminal driver posts them: one after another, without waiting."""
    for key in keys:
        character = key if len(key) == 1 else None
        if key == "backspace":
            character = "\x7f"
        app.post_message(events.Key(key, character))


def filter_value(app: MfaTuiApp) -> str:
    return app.dashboard.filter_field.value


async def test_keys_typed_faster_than_the_screen_redraws_all_land_in_order(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    # The defect: a held backspace, then "role", came out "ole": the field's letters were
    # inserted at once while its backspaces waited behind the screen's redraw.
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        word = [*"ops"]
        for _ in range(5):
            # Exactly as many backspaces as letters: one lost shows in the value.
            typed(app, "slash", *word, *["backspace"] * len(word), *"acme-prod-00-adm")
            await settle(app, pilot)
            assert filter_value(app) == "acme-prod-00-adm"
            assert app.table.names() == ["acme-prod-00-admin"]
            typed(app, "escape")
            await settle(app, pilot)
            assert filter_value(app) == ""


async def test_esc_clears_the_filter_wherever_the_focus_is(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        everything = app.table.row_count
        await pilot.press("slash", *"billing", "enter")  # several rows: on to the table
        assert app.table.has_focus
        assert 1 < app.table.row_count < everything
        await pilot.press("escape")
        assert filter_value(app) == "" and app.table.row_count == everything
        assert app.table.has_focus


async def test_search_by_words_account_id_alias_role_and_user(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        table = app.table

        async def find(query: str) -> list[str]:
            await pilot.press("escape", "slash", *query)
            return table.names()

        # Words in any order, fuzzy: "ml prod admin" is an ML production account's admin.
        found = await find("ml prod admin")
        exact = [n for n in found if "-ml-prod-" in n and n.endswith("-admin")]
        assert len(exact) == 8  # one per ML production account...
        assert found[: len(exact)] == exact  # ...ranked above looser (fuzzy) matches
        # A 12-digit account ID, and the console's dashed way of writing it.
        acct = account_id(27)
        assert set(await find(acct)) >= {f"{account_alias(27)}-27-{r}" for r in ("admin", "ops")}
        dashed = f"{acct[:4]}-{acct[4:8]}-{acct[8:]}"
        assert set(await find(dashed)) == set(await find(acct))
        # Part of an account ID: the rows of the accounts that have it.
        part = acct[3:7]
        assert all(part in (table.row_state(n).status.account_id or "") for n in await find(part))  # type: ignore[union-attr]
        # The alias (from IAM), the role name and the source user are words too.
        assert (await find(f"{account_alias(3)} billing"))[0] == f"{account_alias(3)}-03-billing"
        assert all(n.endswith("-deploy") for n in await find("deploy user-2"))
        assert await find("user-2 deploy") == await find("deploy user-2")
        assert await find("zzzz-nothing") == []
        assert "No profile matches" in str(app.query_one("#empty").render())


async def test_enter_in_the_filter_with_one_row_left_switches_to_it(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *f"{account_alias(5)}-05-ops", "enter")
        await settle(app, pilot)
        # user-2 has no session: switching to the role asks for its code.
        assert isinstance(app.screen, MfaPrompt)
        assert app.screen.wanted.profile == f"{account_alias(5)}-05-ops"


async def test_moving_keys_work_in_the_table_and_in_the_filter(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table, names = app.table, app.table.names()
        await pilot.press("j", "j", "k")
        assert table.selected_name == names[1]
        await pilot.press("G")
        assert table.selected_name == names[-1]
        await pilot.press("g")
        assert table.selected_name == names[0]
        await pilot.press("end", "home", "pagedown")
        assert table.cursor_row > 10
        # In the filter, letters type and the moving keys still move the table.
        await pilot.press("slash", *"admin")
        first = table.names()
        await pilot.press("down", "down", "up")
        assert table.selected_name == first[1] and filter_value(app) == "admin"
        await pilot.press("end")
        assert table.selected_name == first[-1]
        await pilot.press("j", "k")
        assert filter_value(app) == "adminjk"


async def test_recently_used_profiles_come_first_and_pins_and_sort_are_kept(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    backend = consultant_backend
    backend.refresh("user-0", code="123456")
    used = f"{account_alias(9)}-09-readonly"
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.table.names()[0] != used
        app.table.select(used)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.table.names()[0] == used  # switched to: first now
        pinned = f"{account_alias(1)}-01-ops"
        app.table.select(pinned)
        await pilot.press("p")
        await settle(app, pilot)
        assert app.table.names()[:2] == [pinned, used]
        await pilot.press("s")  # by name
        await settle(app, pilot)
        rest = app.table.names()[1:]
        assert app.table.names()[0] == pinned and rest == sorted(rest, key=str.casefold)
    assert load_settings(backend.settings_file).sort_order == "name"
    picks = Picks.load()
    assert picks.pins == [pinned] and used in picks.uses
    # A new dashboard keeps all three.
    again = make_app(backend, clock)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        assert again.dashboard.sort == "name"
        assert again.table.names()[0] == pinned
        await pilot.press("s", "s", "s", "s")  # account, left, config, recent
        await settle(again, pilot)
        assert again.table.names()[:2] == [pinned, used]


async def test_columns_fit_the_width_and_give_way_by_priority(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.table
        narrow = table.shown_columns
        assert narrow[:4] == ["name", "account", "left", "state"]
        for width in (100, 120, 160, 240):
            await pilot.resize_terminal(width, 40)
            await settle(app, pilot)
            shown = table.shown_columns
            assert set(narrow) <= set(shown)
            # Never wider than the screen: every shown column is drawn whole on each
            # line, the last one too (a table wider than its screen crops it).
            for y, name in enumerate(table.visible_names()[:5], start=1):
                line = table.render_line(y).text
                for key in shown:
                    assert table.cell_text(name, key) in line, (width, key, line)
            header = table.render_line(0).text
            for key in shown:
                label = {"name": "Profile", "left": "Left", "state": "Status"}.get(key)
                if label:
                    assert label in header, (width, header)
        assert {"then", "role", "mfa", "session"} <= set(table.shown_columns)


async def test_each_sort_order_sorts_by_what_it_names(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    backend = consultant_backend
    # Two roles of user-0 with sessions ending ten minutes apart, and user-0's own.
    early, late = f"{account_alias(6)}-06-admin", f"{account_alias(3)}-03-admin"
    backend.refresh(early, code="123456")
    clock.advance(600)
    backend.refresh(late)
    config_order = [
        line.removeprefix("[").removeprefix("profile ")[:-1]
        for line in backend.paths.config.read_text().splitlines()
        if line.startswith("[profile ") or line == "[default]"
    ]
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.dashboard.sort == "recent"
        seen: dict[str, list[str]] = {}
        for _ in range(4):
            await pilot.press("s")
            await settle(app, pilot)
            seen[app.dashboard.sort] = app.table.names()
        assert list(seen) == ["name", "account", "left", "config"]
        names = seen["name"]
        assert names == sorted(names, key=str.casefold)

        # Aliases are asked for where a session exists: accounts 3 and 6 have one.
        known = app.dashboard.aliases
        assert set(known.values()) == {account_alias(3), account_alias(6)}

        def account_key(name: str, aliases: dict[str, str]) -> tuple[str, str]:
            row = app.table.row_state(name)
            assert row is not None
            account = row.status.account_id
            where = aliases.get(account or "") or account or "\uffff"
            return where.casefold(), name.casefold()

        by_account = seen["account"]
        assert by_account == sorted(by_account, key=lambda n: account_key(n, known))
        assert by_account != sorted(by_account, key=lambda n: account_key(n, {}))
        # Least time left first: the two roles, then user-0's 12-hour session.
        assert seen["left"][:3] == [early, late, "user-0"]
        shown = set(seen["config"])
        assert seen["config"] == [n for n in config_order if n in shown] + [
            n for n in seen["config"] if n not in config_order
        ]


def test_arns_wrap_at_their_separators_never_mid_word() -> None:
    arn = "arn:aws:iam::123456789012:role/platform/team-a/OrganizationAccountAccessRole"
    lines = wrap_value(arn, 30)
    assert "".join(lines) == arn
    assert all(len(line) <= 30 for line in lines)
    assert all(line.endswith((":", "/")) for line in lines[:-1]), lines
    text = "refreshes by itself at 12:55 from test-user's session"
    assert all(not line.endswith(":") for line in wrap_value(text, 20)[:-1])


def test_a_word_wider_than_the_room_is_cut_only_where_nothing_else_can_be() -> None:
    arn = "arn:aws:iam::123456789012:role/OrganizationAccountAccessRole"
    assert not whole_words(arn, 18) and whole_words(arn, 34)
    lines = wrap_value(arn, 34)
    assert lines == ["arn:aws:iam::123456789012:role/", "OrganizationAccountAccessRole"]
    # A separator early in the line still beats a cut word.
    assert wrap_value("ab/" + "x" * 28, 30) == ["ab/", "x" * 28]


async def test_an_arn_with_a_long_role_name_goes_under_its_label_uncut(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    # At 120 columns the value column beside the labels is about 18 cells: the role's
    # name (29) once came out as "OrganizationAccoun" / "tAccessRole".
    config = consultant_backend.paths.config
    with config.open("a") as fh:
        fh.write(
            "\n[profile org-admin]\n"
            "role_arn = arn:aws:iam::123456789012:role/OrganizationAccountAccessRole\n"
            "source_profile = user-0\n"
            "mfa_serial = arn:aws:iam::372727000019:mfa/user-0\n"
        )
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.table.select("org-admin")
        await pilot.pause()
        pane = app.query_one(DetailPane)
        lines = [pane.render_line(y).text for y in range(pane.size.height)]
        whole = [line for line in lines if "OrganizationAccountAccessRole" in line]
        assert len(whole) >= 2, lines  # the Role line and the Role ARN, each uncut
        assert not any("Organization" in line and "AccessRole" not in line for line in lines)


async def test_the_detail_pane_wraps_an_arn_at_its_separators(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(130, 50)) as pilot:
        await settle(app, pilot)
        app.table.select(f"{account_alias(2)}-02-admin")
        await pilot.pause()
        pane = app.query_one(DetailPane)
        lines = [pane.render_line(y).text.rstrip() for y in range(pane.size.height)]
        arn_lines = [line for line in lines if "arn:aws" in line or ":role/" in line]
        assert arn_lines
        assert not any("…" in line for line in arn_lines)


async def test_every_resize_lays_out_for_the_new_size(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    # The defect: the layout followed the previous size (7 resizes in 10): details shown
    # beside the open log below 120 columns, a two-row table at 80×24.
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(app, pilot)
        assert app.dashboard.log_open
        detail = app.query_one(DetailPane)
        for _ in range(3):
            for width, height in ((80, 24), (130, 40), (100, 30), (119, 40), (120, 30)):
                await pilot.resize_terminal(width, height)
                await pilot.pause()
                assert detail.display == (width >= 120), (width, height)
                assert app.table.size.height >= 10, (width, height, app.table.size)


async def test_an_alias_that_arrives_while_searching_can_be_searched_for(
    consultant_backend: FakeBackend, clock: FrozenClock
) -> None:
    from mfa_tui.tui.messages import AliasesKnown

    consultant_backend.aliases = {}  # IAM has not answered yet
    app = make_app(consultant_backend, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"northwind")
        assert app.table.names() == []
        app.dashboard.post_message(AliasesKnown({account_id(7): "northwind-prod"}))
        await settle(app, pilot)
        in_account = {f"{account_alias(7)}-07-{r}" for r in ("admin", "ops")}
        assert in_account <= set(app.table.names())  # found at once, no key needed
        assert all(
            app.table.row_state(n).status.account_id == account_id(7)  # type: ignore[union-attr]
            for n in app.table.names()
        )
