"""``mailwarden simulate takeover``: the fire drill."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

import typer

from mailwarden.cli.common import (
    CLI_LANG,
    App,
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    LangOpt,
    settings,
    tr,
)

if TYPE_CHECKING:
    from mailwarden.drill import DrillResult

app = App(help=tr("Fire drills against a deployment.", "稼働中の環境に対する訓練（模擬攻撃）。"))


def _held_from_store(result: DrillResult, url: str, since: float, wait: float) -> set[str]:
    """Queue ids Mailwarden recorded as held (it writes behind, so wait a flush first)."""
    from mailwarden.store.store import Store

    time.sleep(wait)
    wanted = set(result.queue_ids)
    return {str(d["queue_id"]) for d in Store(url).decisions(since) if d["queue_id"] in wanted}


@app.command("takeover", help=tr(
    "Play a stolen-password burst and report how many messages got through before the hold.",
    "盗まれたパスワードによる大量送信を再現し、保留が始まるまでに何通が通過したかを報告します。"))
def takeover(
    account: Annotated[str, typer.Option(help=tr(
        "SASL account the attacker stole.", "攻撃者が盗んだ SASL アカウント。"))],
    policy: Annotated[str | None, typer.Option(help=tr(
        "Attack a policy server straight: HOST:PORT.",
        "ポリシーサーバーを直接攻撃します: HOST:PORT。"))] = None,
    smtp: Annotated[str | None, typer.Option(help=tr(
        "Attack through SMTP AUTH: HOST:PORT.", "SMTP AUTH 経由で攻撃します: HOST:PORT。"))
    ] = None,
    password: Annotated[str, typer.Option(envvar="MAILWARDEN_DRILL_PASSWORD", help=tr(
        "Password for SMTP AUTH.", "SMTP AUTH のパスワード。"))] = "",
    sender: Annotated[str, typer.Option(help=tr(
        "Envelope sender (default: the account).",
        "エンベロープの送信者（既定: そのアカウント）。"))] = "",
    client_address: Annotated[str, typer.Option(help=tr(
        "Where the attacker appears to be (XCLIENT ADDR); default in Brazil.",
        "攻撃者の接続元として見せるアドレス（XCLIENT ADDR）。既定はブラジルのアドレス。"))
    ] = "200.147.67.142",
    count: Annotated[int, typer.Option(help=tr("Messages to send.", "送信するメールの数。"))
    ] = 50,
    rate: Annotated[float, typer.Option(help=tr(
        "Messages per second.", "1秒あたりの送信数。"))] = 3.0,
    recipients: Annotated[int, typer.Option(help=tr(
        "Recipients per message.", "1通あたりの宛先の数。"))] = 1,
    recipient_domain: Annotated[str, typer.Option(help=tr(
        "Domain of the (fake) victims.", "（架空の）被害者のドメイン。"))] = "example.net",
    xclient: Annotated[bool, typer.Option(help=tr(
        "Use XCLIENT to pose as client-address.",
        "XCLIENT を使って client-address からの接続に見せかけます。"))] = True,
    starttls: Annotated[bool, typer.Option(help=tr(
        "STARTTLS before AUTH.", "AUTH の前に STARTTLS を行います。"))] = False,
    postqueue_config: Annotated[str | None, typer.Option(help=tr(
        "Count held mail with `postqueue -c DIR -j` (SMTP mode).",
        "`postqueue -c DIR -j` で保留メールを数えます（SMTP モード）。"))] = None,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
) -> None:
    from mailwarden import i18n
    from mailwarden.drill import Attack, postqueue_held, via_policy, via_smtp
    from mailwarden.listen import ListenError, parse_listen

    if (policy is None) == (smtp is None):
        typer.echo("mailwarden: " + i18n.render("cli.simulate.one_target", lang), err=True)
        raise typer.Exit(2)
    attack = Attack(account, sender or account, client_address, count, rate, recipients,
                    recipient_domain)
    started = time.time()
    try:
        if policy is not None:
            target = parse_listen(policy, "policy")
            assert target is not None
            result = via_policy(attack, *target)
        else:
            target = parse_listen(smtp or "", "smtp")
            assert target is not None
            result = via_smtp(attack, target[0], target[1], account, password,
                              xclient=xclient, starttls=starttls)
            if postqueue_config is not None:
                held = postqueue_held(postqueue_config or None) & set(result.queue_ids)
            else:
                cfg = settings(config, data_dir, lang)
                held = _held_from_store(result, cfg.store_url, started,
                                        3 * cfg.store.flush_interval + 0.5)
            result.held_ids = [q for q in result.queue_ids if q in held]
            result.held = len(result.held_ids)
            result.first_hold = (result.queue_ids.index(result.held_ids[0])
                                 if result.held_ids else None)
    except (OSError, ValueError) as exc:
        error = exc.text(lang) if isinstance(exc, ListenError) else exc
        typer.echo("mailwarden: " + i18n.render("cli.simulate.failed", lang, error=error),
                   err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    typer.echo(i18n.render("cli.simulate.counts", lang, sent=result.sent,
                           accepted=result.accepted, held=result.held, refused=result.refused,
                           seconds=f"{result.seconds:.1f}"))
    first = ("" if result.first_hold is None else
             i18n.render("cli.simulate.first_hold", lang, number=result.first_hold + 1))
    typer.echo(i18n.render("cli.simulate.got_through", lang, count=result.got_through) + first)
