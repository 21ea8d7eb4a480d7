"""``tongban wechat …``: the Official Account's custom menu and the committees' QR codes.

    tongban wechat menu [FILE]            # create the menu (default: the shipped bot/wechat/menu.yml)
    tongban wechat menu [FILE] --check    # only check the file and print what would be sent
    tongban wechat menu --show | --delete
    tongban wechat qrcode CODE [--renew]  # a committee's permanent QR code (scene = its referral code)
    tongban wechat qrcode --all [--renew]

They need ``TONGBAN_WECHAT__APP_ID`` and ``__APP_SECRET`` and the ledger (the access token is the
one every worker shares). The WeChat modules load only when a command runs (``bot`` is heavy).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from tongban.ledger_cli import ledger_db
from tongban.settings import get_settings


def register(sub) -> None:
    """Add the ``wechat`` command group to the ``tongban`` parser's subparsers."""
    wechat = sub.add_parser("wechat", help="the WeChat Official Account: custom menu, committee QR codes")
    commands = wechat.add_subparsers()
    menu = commands.add_parser("menu", help="create the custom menu (自定义菜单) from a YAML file")
    menu.add_argument("file", nargs="?", type=Path, help="the menu (default: the shipped bot/wechat/menu.yml)")
    action = menu.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="check the file and print the JSON; send nothing")
    action.add_argument("--show", action="store_true", help="print the account's current menu")
    action.add_argument("--delete", action="store_true", help="delete the account's menu")
    menu.set_defaults(run=_menu)
    qrcode = commands.add_parser("qrcode", help="a committee's permanent WeChat QR code (scene = its code)")
    qrcode.add_argument("committee", nargs="?", help="the committee's referral code")
    qrcode.add_argument("--all", action="store_true", help="every active committee")
    qrcode.add_argument("--renew", action="store_true", help="ask WeChat for a new one even if one is stored")
    qrcode.set_defaults(run=_qrcode)


def _menu(args: argparse.Namespace) -> int:
    from bot.wechat import menu
    from bot.wechat.api import SendError, explain

    if args.file is not None and (args.show or args.delete):
        print("--show 和 --delete 不读菜单文件。 (--show and --delete take no FILE)", file=sys.stderr)
        return 2
    checked = None
    if not (args.show or args.delete):
        try:
            checked = menu.read_menu(args.file or menu.MENU_FILE)
        except menu.MenuError as exc:
            print(exc, file=sys.stderr)
            return 2
        if args.check:
            print(json.dumps(checked, ensure_ascii=False, indent=2))
            return 0
    config = _configured()
    if config is None:
        return 2
    with _account(config) as (api, _db):
        try:
            if args.show:
                shown = menu.current(api)
                print(json.dumps(shown, ensure_ascii=False, indent=2) if shown else "公众号目前没有自定义菜单。 (no menu)")
            elif args.delete:
                menu.delete(api)
                print("已删除公众号的自定义菜单。 (menu deleted)")
            else:
                menu.create(api, checked)
                names = " / ".join(button["name"] for button in checked["button"])
                print(f"已创建自定义菜单：{names}（微信客户端约 5 分钟内更新；重新关注可立即看到）")
        except SendError as exc:
            print(explain(exc), file=sys.stderr)
            return 1
    return 0


def _qrcode(args: argparse.Namespace) -> int:
    from bot.wechat.qrcodes import CommitteeQrCodes
    from ledger.audit import cli_actor
    from ledger.committees import active_committee_codes
    from ledger.errors import StaffError

    if bool(args.all) == bool(args.committee):
        print("请给出一个居委会的推荐码，或用 --all 生成所有启用的居委会的二维码。 "
              "(give a committee code, or --all)", file=sys.stderr)
        return 2
    config = _configured()
    if config is None:
        return 2
    failed = 0
    with _account(config) as (api, db):
        qrcodes = CommitteeQrCodes(api=api, db=db)
        codes = [args.committee]
        if args.all:
            with db.session() as session:
                codes = active_committee_codes(session=session)
        for code in codes:
            try:
                made = qrcodes.issue(code, actor=cli_actor(), renew=args.renew)
            except StaffError as exc:  # the refusal names a code typed wrong, and it is said in Chinese
                print(f"{code}: {exc}" if args.all else exc, file=sys.stderr)
                failed += 1
                continue
            state = "新生成" if made.created else "已有（要换一个请加 --renew）"
            print(f"{made.scene}\t{made.committee}\t{state}\n  二维码内容 (encode this): {made.url}\n"
                  f"  微信的二维码图片 (image): {made.image_url}")
    return 1 if failed else 0


def _configured():
    """The account's settings, or None (said why) when its AppID and AppSecret are not set."""
    config = get_settings().wechat
    if config.app_id and config.app_secret.get_secret_value():
        return config
    print("尚未配置微信公众号：请设置 TONGBAN_WECHAT__APP_ID 和 TONGBAN_WECHAT__APP_SECRET。 "
          "(WeChat is not configured)", file=sys.stderr)
    return None


@contextmanager
def _account(config):
    """(the API client, the ledger it shares the access token through), the ledger closed afterwards."""
    from bot.wechat.api import WeChatApi

    db, cipher = ledger_db()
    try:
        yield WeChatApi(app_id=config.app_id, secret=config.app_secret.get_secret_value(), base_url=config.base_url,
                        db=db, cipher=cipher, timeout=config.request_timeout), db
    finally:
        db.dispose()
